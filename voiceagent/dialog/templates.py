"""Prompts and conditions from flow files, run in Jinja2's sandbox (never ``eval``).

Prompts are templates (``"You're booked for {{ booking.start | spoken_datetime }}"``);
conditions, ``set`` values and action arguments are expressions (``offers | length > 0``).
Filters turn values into what reads well aloud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError

from voiceagent.sandbox import BoundedSandbox


class TemplateProblem(ValueError):
    """A template or expression that cannot compile or run."""


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_time(value: datetime | time) -> str:
    hour = value.hour % 12 or 12
    meridiem = "AM" if value.hour < 12 else "PM"
    if value.minute == 0:
        return f"{hour} {meridiem}"
    return f"{hour}:{value.minute:02d} {meridiem}"


def spoken_date(value: date | datetime) -> str:
    return f"{value:%A}, {value:%B} {ordinal(value.day)}"


def spoken_datetime(value: datetime) -> str:
    return f"{spoken_date(value)} at {spoken_time(value)}"


def spoken_list(items: Iterable[Any], conjunction: str = "or") -> str:
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def with_article(phrase: str) -> str:
    """ "annual physical" -> "an annual physical"; "sick visit" -> "a sick visit"."""
    text = str(phrase).strip()
    return f"{'an' if text[:1].lower() in 'aeiou' else 'a'} {text}" if text else text


def grouped(value: str, size: int = 3) -> str:
    """Read a code back in groups: "W12345678" -> "W 1 2, 3 4 5, 6 7 8"."""
    chars = [c for c in str(value) if not c.isspace()]
    groups = [" ".join(chars[i : i + size]) for i in range(0, len(chars), size)]
    return ", ".join(groups)


def last_digits(value: str, count: int = 4) -> str:
    """Only the end of an identifier is ever read aloud (minimum necessary)."""
    return " ".join(str(value)[-count:])


FILTERS: dict[str, Callable[..., Any]] = {
    "spoken_time": spoken_time,
    "spoken_date": spoken_date,
    "spoken_datetime": spoken_datetime,
    "spoken_list": spoken_list,
    "grouped": grouped,
    "last_digits": last_digits,
    "ordinal": ordinal,
    "with_article": with_article,
}


# Bounded: admins' templates are checked and run while the server serves calls.
_ENV = BoundedSandbox(FILTERS, undefined=StrictUndefined, autoescape=False, trim_blocks=True)
# What a render may raise for a mistake in the template rather than in our code.
_MISTAKES = (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError)


class Prompt:
    """A compiled prompt template."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._template = _ENV.checked_template(source)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"bad template: {exc.message} (line {exc.lineno})") from None
        # Text with no placeholders is fixed: its audio may be cached.
        self.fixed = "{" not in source

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return " ".join(self._template.render(context).split())
        except _MISTAKES as exc:
            raise TemplateProblem(f"cannot fill in {self.source!r}: {exc}") from None


class Condition:
    """A compiled expression (conditions, set values, action arguments)."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._expression = _ENV.checked_expression(source)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"bad expression: {exc.message}") from None

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        try:
            return self._expression(**context)
        except (*_MISTAKES, AttributeError) as exc:
            raise TemplateProblem(f"cannot evaluate {self.source!r}: {exc}") from None

    def names(self) -> set[str]:
        """Top-level names the expression reads (for 'undefined slot' checks)."""
        from jinja2 import meta

        return set(meta.find_undeclared_variables(_ENV.parse("{{ " + self.source + " }}")))


def template_names(source: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_ENV.parse(source)))


def attributes_used(source: str, name: str, *, expression: bool = False) -> set[str]:
    """Attributes read directly off ``name`` ("clinic.fax" -> {"fax"})."""
    from jinja2 import nodes

    tree = _ENV.parse("{{ " + source + " }}" if expression else source)
    return {
        node.attr
        for node in tree.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == name
    }
