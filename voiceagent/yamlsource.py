"""YAML that admins edit, read so that every problem can name its file, line and column.

The document is composed into nodes first, so each path (``("steps", 3, "prompt")``) keeps
the position it was written at; pydantic and semantic checks report against those paths.

Admin files are saved from the web and checked while the server runs, so reading one has a
budget: no anchors or aliases (a few hundred bytes of them expand to millions of values),
and caps on size, values and nesting, each refused as a problem at its line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a file, in words an admin can act on."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


# Limits on one admin file. The largest shipped file (policy.yaml) has 44,000 characters,
# 1,400 values and nests 6 deep; these leave room to grow while a hostile file is refused
# in well under a second.
MAX_FILE_CHARS = 100_000
MAX_NODES = 10_000
MAX_DEPTH = 32
# Where aliases are allowed: the values they may stand for beyond twice those written out.
ALIAS_ALLOWANCE = 10_000
# No number needs more digits; YAML 1.1's base-60 numbers (1:2:3) take quadratic time.
MAX_NUMBER_CHARS = 100


class YamlRefused(yaml.MarkedYAMLError):
    """Well-formed YAML that is refused all the same (aliases, sheer size); ``problem``
    says why in words."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark or yaml.Mark("", 0, 0, 0, None, None))


class AdminLoader(yaml.SafeLoader):
    """SafeLoader for files admins edit: refuses anchors and aliases and stops composing
    past the node and depth caps, so the cost of reading a file grows with its length only.

    An impossible date (1982-13-03) or an absurd number stays text, so validation can
    report it with its line instead of the whole parse failing."""

    allow_aliases: ClassVar[bool] = False
    max_chars: ClassVar[int | None] = MAX_FILE_CHARS
    max_nodes: ClassVar[int | None] = MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._written = 0  # values written out so far
        self._count = 0  # values so far, an alias counting as everything it stands for
        self._depth = 0
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:  # type: ignore[override]
        event = self.peek_event()
        is_alias = isinstance(event, yaml.AliasEvent)
        if not self.allow_aliases and (is_alias or getattr(event, "anchor", None)):
            sign = "*" if is_alias else "&"
            raise YamlRefused(
                f"anchors and aliases ({sign}{event.anchor}) are not allowed in dialogs "
                "files: write the value out where it is used",
                event.start_mark,
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if is_alias:
            if id(node) not in self._sizes:
                raise YamlRefused(
                    "an alias cannot stand for a value it is inside", event.start_mark
                )
            values, height = self._sizes[id(node)]
            self._count += values
            if self._depth + height > MAX_DEPTH:
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            # Sharing a value a few times is what aliases are for; standing for far more
            # than the file writes out is what a "billion laughs" file does.
            if self._count > 2 * self._written + ALIAS_ALLOWANCE:
                raise YamlRefused(
                    "the aliases in this file stand for far more values than it writes out: "
                    "write the repeated values out instead",
                    event.start_mark,
                )
        else:
            self._written += 1
            self._count += 1
            self._sizes[id(node)] = self._measure(node)
        if self.max_nodes is not None and self._count > self.max_nodes:
            raise YamlRefused(
                f"more than {self.max_nodes:,} values in one file: split it up", event.start_mark
            )
        return node

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        sizes = [self._sizes[id(child)] for child in children]
        return 1 + sum(v for v, _ in sizes), 1 + max((h for _, h in sizes), default=0)

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]

    def construct_yaml_int(self, node: yaml.Node) -> Any:  # type: ignore[override]
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            return self.construct_scalar(node)  # type: ignore[arg-type]
        return super().construct_yaml_int(node)  # type: ignore[arg-type]

    def construct_yaml_float(self, node: yaml.Node) -> Any:  # type: ignore[override]
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            return self.construct_scalar(node)  # type: ignore[arg-type]
        return super().construct_yaml_float(node)  # type: ignore[arg-type]


AdminLoader.add_constructor("tag:yaml.org,2002:timestamp", AdminLoader.construct_yaml_timestamp)
AdminLoader.add_constructor("tag:yaml.org,2002:int", AdminLoader.construct_yaml_int)
AdminLoader.add_constructor("tag:yaml.org,2002:float", AdminLoader.construct_yaml_float)


class OperatorLoader(AdminLoader):
    """For files the operator supplies (the clinic fixture): they may be large, and tools
    that write them with PyYAML emit aliases for values used twice, so aliases are allowed;
    what they stand for is counted, so a few lines cannot expand to millions of values."""

    allow_aliases = True
    max_chars = None
    max_nodes = None


def read_bounded(path: Path) -> str:
    """The file's text, but no more than one character past the size cap (which
    :func:`compose` then refuses), so an enormous file is never read whole."""
    with path.open(encoding="utf-8") as handle:
        return handle.read(MAX_FILE_CHARS + 1)


def compose(text: str, loader: type[AdminLoader] = AdminLoader) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data of ``text``; raises :class:`yaml.MarkedYAMLError`
    (:class:`YamlRefused` for a limit) with the position of the problem."""
    if loader.max_chars is not None and len(text) > loader.max_chars:
        raise YamlRefused(
            f"this file is longer than the {loader.max_chars:,} characters a dialogs file may have"
        )
    reader = loader(text)
    try:
        root = reader.get_single_node()
        data = reader.construct_document(root) if root is not None else None
    finally:
        reader.dispose()
    return root, data


@dataclass
class YamlDocument:
    path: Path
    text: str
    data: Any
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    structural: list[tuple[Loc, str]] = field(default_factory=list)

    def position(self, loc: Loc) -> tuple[int, int]:
        """(line, column), 1-based, of ``loc`` or of its nearest written ancestor."""
        while loc and loc not in self.marks:
            loc = loc[:-1]
        return self.marks.get(loc, (1, 1))

    def problem(self, loc: Loc, message: str, *, with_path: bool = True) -> Problem:
        line, column = self.position(loc)
        text = f"{dotted(loc)}: {message}" if with_path and loc else message
        return Problem(str(self.path), line, column, text)

    def validation_problems(self, error: ValidationError, prefix: Loc = ()) -> list[Problem]:
        """Pydantic errors, located; union-member tags are dropped from the paths."""
        problems = []
        for err in error.errors(include_input=False, include_url=False):
            loc = (*prefix, *err["loc"])
            if err["type"] != "missing":
                while loc and loc not in self.marks:
                    loc = loc[:-1]
            message = err["msg"].removeprefix("Value error, ")
            problems.append(self.problem(loc, message))
        return problems


class YamlSourceError(ValueError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_yaml(path: Path, text: str | None = None) -> YamlDocument:
    """Parse ``path`` (or ``text`` as if it were that file) keeping node positions.

    Raises :class:`YamlSourceError` when the text is not YAML at all.
    """
    if text is None:
        try:
            text = read_bounded(path)
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise YamlSourceError([Problem(str(path), 1, 1, f"cannot read: {why}")]) from None
    try:
        root, data = compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem if isinstance(exc, YamlRefused) else f"not valid YAML: {exc.problem}"
        raise YamlSourceError([Problem(str(path), line, column, str(what))]) from None
    document = YamlDocument(path=path, text=text, data=data)
    if root is not None:
        _index(root, (), document)
    return document


def _index(node: yaml.Node, loc: Loc, document: YamlDocument) -> None:
    document.marks[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                document.structural.append(((*loc, key), "this key appears twice"))
            seen.add(key)
            _index(value_node, (*loc, key), document)
            # Point at the key, where the admin will look, not at its value.
            document.marks[(*loc, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*loc, i), document)


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
