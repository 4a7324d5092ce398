"""YAML that admins edit, read so that every problem can name its file, line and column.

The document is composed into nodes first, so each path (``("steps", 3, "prompt")``) keeps
the position it was written at; pydantic and semantic checks report against those paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves an impossible date (1982-13-03) as text, so validation can
    report it with its line instead of the whole parse failing."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


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
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            problem = Problem(str(path), 1, 1, f"cannot read: {exc.strerror}")
            raise YamlSourceError([problem]) from None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError(
            [Problem(str(path), line, column, f"not valid YAML: {exc.problem}")]
        ) from None
    finally:
        loader.dispose()
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
