"""Load and check ``policy.yaml``, reporting problems by file, line and column.

Admins edit this file by hand, so every problem names where it is and says in plain English
what is wrong. The YAML is composed first (PyYAML keeps a start mark on every node), then
validated with pydantic; each pydantic error location (``emergencies.3.phrases``) is walked
back through the node tree to the line that caused it. Checks pydantic cannot place on one
list item (duplicates, phrases without words, template variables) run afterwards on the
same tree.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError, meta
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from voiceagent.handoff.schema import TEMPLATE_VARIABLES, Policy, Section
from voiceagent.handoff.text import Rewriter, phrase_words
from voiceagent.sandbox import BoundedSandbox
from voiceagent.yamlsource import Problem, YamlRefused, compose, read_bounded

Loc = tuple[str | int, ...]


class PolicyError(ValueError):
    """The policy file cannot be used; ``problems`` says why and where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_policy(path: str | Path) -> Policy:
    """Read, validate and return the policy, or raise :class:`PolicyError`."""
    policy, problems = _check(Path(path))
    if problems or policy is None:
        raise PolicyError(problems)
    return policy


def validate_policy_file(path: str | Path) -> list[Problem]:
    """Every problem in the file, in line order; an empty list means it is valid."""
    return _check(Path(path))[1]


def _check(path: Path) -> tuple[Policy | None, list[Problem]]:
    name = str(path)
    try:
        source = read_bounded(path)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [
            Problem(name, 1, 1, f"cannot read the policy file ({exc.__class__.__name__})")
        ]
    return check_policy_text(source, name)


def check_policy_text(source: str, name: str = "<policy>") -> tuple[Policy | None, list[Problem]]:
    """Validate policy YAML given as text; ``name`` is used in the problems."""
    try:
        root, data = compose(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "the file is not valid YAML"
        if isinstance(exc, YamlRefused):
            return None, [Problem(name, line, column, what)]
        if "'\\t'" in what:
            what += " (indent with spaces, never tabs)"
        return None, [Problem(name, line, column, f"YAML syntax: {what}")]
    if root is None:
        return None, [Problem(name, 1, 1, "the policy file is empty")]
    if not isinstance(root, MappingNode):
        return None, [_at(name, root, "the policy file must be a set of sections (name: value)")]
    duplicates = list(_duplicate_keys(name, root))
    if duplicates:
        return None, sorted(duplicates)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = {_pydantic_problem(name, root, err) for err in exc.errors()}
        return None, sorted(problems)
    problems = sorted(set(_semantic_problems(name, root, policy)))
    return (None if problems else policy), problems


# --- locating ---------------------------------------------------------------------------


def _at(name: str, node: Node, message: str) -> Problem:
    return Problem(name, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _walk(root: Node, loc: Loc) -> tuple[Node, Node | None, int]:
    """The deepest node along ``loc``, its mapping key node, and how many parts matched."""
    node, key_node, depth = root, None, 0
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            found = next(((k, v) for k, v in node.value if _scalar(k) == part), None)
            if found is None:
                break
            key_node, node = found
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            key_node, node = None, node.value[part]
        else:
            break
        depth += 1
    return node, key_node, depth


def _scalar(node: Node) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _where(root: Node, loc: Loc) -> str:
    """A readable path: "emergencies, item 3 (chest_pain), phrases, item 2"."""
    parts: list[str] = []
    node: Node | None = root
    for part in loc:
        if isinstance(part, int):
            label = f"item {part + 1}"
            item = (
                node.value[part]
                if isinstance(node, SequenceNode) and part < len(node.value)
                else None
            )
            ident = _mapping_get(item, "id") if item is not None else None
            parts.append(f"{label} ({ident})" if ident else label)
            node = item
        else:
            parts.append(part)
            node = _mapping_node(node, part) if node is not None else None
    return ", ".join(parts) if parts else "top level"


def _mapping_node(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        return next((v for k, v in node.value if _scalar(k) == key), None)
    return None


def _mapping_get(node: Node, key: str) -> str | None:
    found = _mapping_node(node, key)
    return _scalar(found) if found is not None else None


def _duplicate_keys(name: str, node: Node) -> Iterator[Problem]:
    # PyYAML silently keeps the last of two equal keys; an admin would lose a whole section.
    if isinstance(node, MappingNode):
        seen: dict[str, Node] = {}
        for key, value in node.value:
            text = _scalar(key)
            if text is not None and text in seen:
                first = seen[text].start_mark.line + 1
                yield _at(
                    name, key, f"'{text}' appears twice in the same section (first on line {first})"
                )
            elif text is not None:
                seen[text] = key
            yield from _duplicate_keys(name, value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(name, item)


# --- pydantic errors in plain English ---------------------------------------------------


def _all_sections() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    stack: list[type[BaseModel]] = [Section]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


_FIELD_NAMES = sorted({f for cls in _all_sections() for f in cls.model_fields})


def _bounds(field: str) -> tuple[Any, Any] | None:
    for cls in _all_sections():
        info = cls.model_fields.get(field)
        if info is None:
            continue
        low = next((getattr(m, "ge", None) for m in info.metadata if hasattr(m, "ge")), None)
        high = next((getattr(m, "le", None) for m in info.metadata if hasattr(m, "le")), None)
        if low is not None and high is not None:
            return low, high
    return None


def _pydantic_problem(name: str, root: Node, err: Any) -> Problem:
    loc: Loc = tuple(p for p in err["loc"] if p != "[key]")
    kind: str = err["type"]
    node, key_node, depth = _walk(root, loc)
    field = next((p for p in reversed(loc) if isinstance(p, str)), "this setting")
    where = _where(root, loc[: max(depth, 1)] if kind == "missing" else loc)

    if kind == "extra_forbidden":
        suggestion = difflib.get_close_matches(str(loc[-1]), _FIELD_NAMES, n=1, cutoff=0.7)
        hint = f" (did you mean '{suggestion[0]}'?)" if suggestion else ""
        return _at(name, key_node or node, f"{where}: unknown setting '{loc[-1]}'{hint}")
    if kind == "missing":
        return _at(name, node, f"{where}: the setting '{loc[-1]}' is missing")
    target = node if depth == len(loc) else (key_node or node)
    return _at(name, target, f"{where}: {_explain(kind, field, err, target)}")


def _explain(kind: str, field: str, err: Any, node: Node) -> str:
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("too_short", "string_too_short"):
        if kind == "too_short" and field in ("phrases", "negation_words", "emergencies"):
            return f"'{field}' is empty: add at least one entry"
        return "this is empty: write something here or remove the line"
    if kind == "too_long":
        return "a word combination can have at most 4 word groups"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = _bounds(field)
        if bounds:
            return f"'{field}' must be between {bounds[0]} and {bounds[1]} (it is {value})"
        return f"'{field}' is out of range (it is {value})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"'{field}' must be a whole number (it is {_shown(node, value)})"
    if kind in ("float_parsing", "float_type"):
        return f"'{field}' must be a number (it is {_shown(node, value)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"'{field}' must be true or false (it is {_shown(node, value)})"
    if kind == "string_type":
        if value is None:
            return "this is empty: write something here or remove the line"
        shown = _scalar(node) if isinstance(node, ScalarNode) else str(value)
        return (
            f"YAML reads {shown} as {type(value).__name__}, not as words: "
            f'put it in quotes, like "{shown}"'
        )
    if kind == "string_pattern_mismatch":
        if field == "dtmf":
            return "each key must be a single keypad key: 0-9, * or #"
        return (
            f"'{value}' is not a valid code: use lower-case letters, digits and underscores, "
            "starting with a letter (like chest_pain)"
        )
    if kind == "list_type":
        return f"'{field}' must be a list, one entry per line starting with '- '"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"'{field}' must be a section of settings (name: value lines)"
    if kind == "literal_error":
        expected = ctx.get("expected", "the allowed values")
        return f"'{field}' must be one of {expected} (it is {value!r})"
    return str(err.get("msg", "invalid value"))


def _shown(node: Node, value: Any) -> str:
    return repr(_scalar(node)) if isinstance(node, ScalarNode) else repr(value)


# --- checks on a structurally valid policy ---------------------------------------------

# The policy engine renders these messages in the same bounded sandbox, without what
# multiplies a value's size (see voiceagent.sandbox).
_ENV = BoundedSandbox(multiplying=False)


def _semantic_problems(name: str, root: Node, policy: Policy) -> Iterator[Problem]:
    rewriter = Rewriter.build(policy.matching.sounds_like)

    def problem(loc: Loc, message: str) -> Problem:
        node, _key, _depth = _walk(root, loc)
        return _at(name, node, f"{_where(root, loc)}: {message}")

    def line_of(loc: Loc) -> int:
        return _walk(root, loc)[0].start_mark.line + 1

    for heard in policy.matching.sounds_like:
        if not phrase_words(heard, rewriter):
            yield problem(("matching", "sounds_like", heard), f"'{heard}' has no words")

    for list_name in ("negation_words", "uncertain_words", "not_symptoms", "red_flag_words"):
        yield from _phrase_list(
            problem, line_of, ("matching", list_name), getattr(policy.matching, list_name), rewriter
        )

    # Category codes must be unique across emergencies and sensitive topics: the summary
    # and the dashboard name a transfer by them.
    seen_ids: dict[str, Loc] = {}
    groups: list[tuple[str, list[Any]]] = [
        ("emergencies", policy.emergencies),
        ("sensitive_topics", policy.sensitive_topics),
    ]
    for section, categories in groups:
        for index, category in enumerate(categories):
            loc: Loc = (section, index, "id")
            if category.id in seen_ids:
                first = line_of(seen_ids[category.id])
                yield problem(
                    loc, f"duplicate category '{category.id}' (already used on line {first})"
                )
            else:
                seen_ids[category.id] = loc
            yield from _phrase_list(
                problem, line_of, (section, index, "phrases"), category.phrases, rewriter
            )
            yield from _combinations(
                problem, (section, index, "word_combinations"), category.word_combinations, rewriter
            )

    hr = policy.human_request
    yield from _phrase_list(problem, line_of, ("human_request", "phrases"), hr.phrases, rewriter)
    yield from _phrase_list(
        problem, line_of, ("human_request", "short_answers"), hr.short_answers, rewriter
    )
    yield from _combinations(
        problem, ("human_request", "word_combinations"), hr.word_combinations, rewriter
    )
    fr = policy.frustration
    yield from _phrase_list(problem, line_of, ("frustration", "phrases"), fr.phrases, rewriter)
    yield from _phrase_list(
        problem, line_of, ("frustration", "swear_words"), fr.swear_words, rewriter
    )
    yield from _combinations(
        problem, ("frustration", "word_combinations"), fr.word_combinations, rewriter
    )

    yield from _phrase_list(
        problem, line_of, ("ordinary_requests",), policy.ordinary_requests, rewriter
    )

    for loc, template in _templates(policy):
        yield from _template_problems(problem, loc, template)


def _phrase_list(
    problem: Any, line_of: Any, loc: Loc, phrases: list[str], rewriter: Rewriter
) -> Iterator[Problem]:
    seen: dict[tuple[str, ...], int] = {}
    for index, phrase in enumerate(phrases):
        words = phrase_words(phrase, rewriter)
        if not words:
            yield problem((*loc, index), f"'{phrase}' has no words to listen for")
        elif words in seen:
            first = line_of((*loc, seen[words]))
            yield problem((*loc, index), f"'{phrase}' is already listed (line {first})")
        else:
            seen[words] = index


def _combinations(
    problem: Any, loc: Loc, combinations: list[list[str]], rewriter: Rewriter
) -> Iterator[Problem]:
    for c_index, groups in enumerate(combinations):
        for g_index, group in enumerate(groups):
            where = (*loc, c_index, g_index)
            for alternative in group.split("|"):
                alternative = alternative.strip()
                if not alternative:
                    yield problem(where, f"'{group}' has an empty choice: remove the extra '|'")
                    continue
                for word in alternative.split():
                    stem_part = word.rstrip("*")
                    if "*" in stem_part or (word.endswith("*") and len(stem_part) < 3):
                        message = "a '*' may only end a word of at least 3 letters (like bleed*)"
                        yield problem(where, f"'{word}': {message}")
                if not phrase_words(alternative.replace("*", ""), rewriter):
                    yield problem(where, f"'{alternative}' has no words to listen for")


def _templates(policy: Policy) -> Iterator[tuple[Loc, str]]:
    for index, category in enumerate(policy.emergencies):
        yield ("emergencies", index, "guidance"), category.guidance
    for index, topic in enumerate(policy.sensitive_topics):
        if topic.say:
            yield ("sensitive_topics", index, "say"), topic.say
    for field in ("low_confidence", "max_attempts"):
        yield ("uncertainty", field, "say"), getattr(policy.uncertainty, field).say
    for section in ("after_hours", "messages"):
        for field, value in getattr(policy, section).model_dump().items():
            yield (section, field), value


def _template_problems(problem: Any, loc: Loc, template: str) -> Iterator[Problem]:
    try:
        parsed = _ENV.check(template)
    except TemplateSyntaxError as exc:
        yield problem(loc, f"this message has a template mistake: {exc.message}")
        return
    unknown = sorted(meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES)
    if unknown:
        allowed = ", ".join(sorted(TEMPLATE_VARIABLES))
        yield problem(
            loc, f"unknown variable '{unknown[0]}' in this message; you can use: {allowed}"
        )
