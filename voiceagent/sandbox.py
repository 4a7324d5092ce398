"""Jinja2's sandbox with a budget: what a prompt or condition written by an admin may cost.

Admins save flows from the web and the server checks them while it serves calls, so a
template must not be able to ask for unbounded work. Jinja's sandbox blocks unsafe
attributes, not expensive ones, and Jinja computes constant expressions while compiling
(``{{ 9 ** 9 ** 7 }}`` would run during validation, holding the GIL for seconds). Here:

- every arithmetic operator is intercepted, which also stops Jinja computing it while
  compiling, and bounded: numbers to 64 bits, text repeated or joined to 2,000 characters;
- filters are a fixed list; the two that can multiply text (join, replace) check first;
- the only statement is ``{% if %}``: without loops, macros or ``set`` no value can be
  shared and doubled, so the cost of a template grows with its length; only range() (at
  most 100 numbers) and dict() may be called;
- sources and rendered text have caps;
- constant parts are computed once when the template is checked, so a constant that is
  too costly is a problem at its line instead of a failure on a live call.

No threads or timeouts: every bound is structural.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes, pass_eval_context
from jinja2.environment import TemplateExpression
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.filters import do_replace, sync_do_join
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_SOURCE = 1_000  # characters in one prompt or condition; the longest shipped has 225
MAX_TEXT = 2_000  # characters a prompt renders to (about two minutes of speech)
MAX_RANGE = 100
MAX_INT_BITS = 64
MAX_NESTING = 30  # levels of the parsed template; the deepest shipped has 8

# Built-in filters whose result grows at most linearly with their input, so chaining them
# cannot blow up. Left out, among others: center, indent, wordwrap and format (widths),
# batch and slice (counts) and round (round(x, -10**9) computes 10**10**9).
LINEAR_FILTERS = frozenset(
    {"abs", "capitalize", "count", "d", "default", "first", "float", "int", "last", "length",
     "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "select",
     "selectattr", "sort", "string", "sum", "title", "trim", "truncate", "unique", "upper",
     "wordcount"}
)  # fmt: skip

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
# Operators that can make a value much larger than their operands.
_MULTIPLYING = (nodes.Mul, nodes.Pow, nodes.Mod)
_TAGS: dict[type[nodes.Node], str] = {
    nodes.For: "for",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.FilterBlock: "filter",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.ScopedEvalContextModifier: "autoescape",
}
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.If, nodes.TemplateData, nodes.Const, nodes.Name,
    nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Filter, nodes.Test, nodes.Call,
    nodes.Keyword, nodes.Pair, nodes.Tuple, nodes.List, nodes.Dict, nodes.CondExpr,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos,
    nodes.Concat, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
    nodes.Pow,
)  # fmt: skip


class TooCostly(SecurityError):
    """A template asked for more work or text than an admin's template may."""


def _too_long() -> TooCostly:
    return TooCostly(f"this would make text longer than {MAX_TEXT:,} characters")


def _too_big() -> TooCostly:
    return TooCostly(f"this would make a number larger than {MAX_INT_BITS} bits")


def bounded_operation(op: str, left: Any, right: Any) -> Any:
    """``left op right``, refused before it starts if the result would be too large."""
    _check_operands(op, left, right)
    result = _OPERATORS[op](left, right)
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise _too_big()
    return result


def _check_operands(op: str, left: Any, right: Any) -> None:
    if op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        # |left| >= 2**(bits-1), so the result has at least (bits-1)*right bits.
        if (abs(left).bit_length() - 1) * right > MAX_INT_BITS:
            raise _too_big()
    elif op == "*" and (isinstance(left, int) or isinstance(right, int)):
        value, times = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(value, list | tuple):
            raise TooCostly("only text can be repeated with *")
        if isinstance(value, str) and len(value) * times > MAX_TEXT:
            raise _too_long()
    elif op == "%" and isinstance(left, str):
        raise TooCostly("text cannot be formatted with %: put {{ value }} where it goes")
    elif op == "+" and _size(left) + _size(right) > MAX_TEXT:
        raise _too_long()


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:  # more numbers than fit in a machine word
        count = MAX_RANGE + 1
    if count > MAX_RANGE:
        raise TooCostly(f"range() may give at most {MAX_RANGE} numbers")
    return numbers


# The only functions a template may call.
_CALLS: dict[str, Callable[..., Any]] = {"range": bounded_range, "dict": dict}
CALLABLE = frozenset(_CALLS)


@pass_eval_context
def bounded_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    # The separators are what multiplies (n items, n-1 copies); the items only add up.
    items = list(value)
    if len(str(d)) * max(len(items) - 1, 0) > MAX_TEXT:
        raise _too_long()
    text: str = sync_do_join(eval_ctx, items, d, attribute)
    if len(text) > MAX_TEXT:
        raise _too_long()
    return text


@pass_eval_context
def bounded_replace(
    eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None
) -> str:
    text, old_text = str(s), str(old)
    hits = text.count(old_text)  # len + 1 when old is empty
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(str(new)) - len(old_text)) > MAX_TEXT:
        raise _too_long()
    return str(do_replace(eval_ctx, s, old, new, count))


def bounded_concat(parts: Iterable[str]) -> str:
    """What Template.render joins its output with: it stops at the cap, however the text
    is produced."""
    out: list[str] = []
    size = 0
    for part in parts:
        size += len(part)
        if size > MAX_TEXT:
            raise _too_long()
        out.append(part)
    return "".join(out)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox admins' templates run in. ``multiplying=False`` also refuses what can
    multiply a value's size (``*``, ``**``, ``%``, join, replace and any call): the
    policy's messages, which need none of it."""

    # Computed by call_binop, and never folded by Jinja while compiling.
    intercepted_binops = frozenset(_OPERATORS)
    concat = staticmethod(bounded_concat)  # type: ignore[assignment]

    def __init__(
        self,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        *,
        multiplying: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.multiplying = multiplying
        self.filters = {name: JINJA_FILTERS[name] for name in LINEAR_FILTERS}
        self.globals = {}
        if multiplying:
            self.filters |= {"join": bounded_join, "replace": bounded_replace}
            self.globals = dict(_CALLS)
        self.filters |= filters or {}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return bounded_operation(operator, left, right)

    def check(self, source: str, *, expression: bool = False) -> nodes.Template:
        """Parse ``source`` and refuse what it may not contain or compute, raising
        TemplateSyntaxError with the template line."""
        if len(source) > MAX_SOURCE:
            raise TemplateSyntaxError(
                f"this is {len(source):,} characters long; at most {MAX_SOURCE:,} are allowed",
                1,
            )
        try:
            tree = self.parse("{{ " + source + " }}" if expression else source)
        except RecursionError:
            raise TemplateSyntaxError("this is nested too deeply", 1) from None
        self._check_node(tree, 0)
        self._compute_constants(tree)
        return tree

    def checked_template(self, source: str) -> Template:
        return self.from_string(self.check(source))

    def checked_expression(self, source: str) -> TemplateExpression:
        self.check(source, expression=True)
        return self.compile_expression(source, undefined_to_none=False)

    def _check_node(self, node: nodes.Node, depth: int) -> None:
        def refuse(message: str) -> TemplateSyntaxError:
            return TemplateSyntaxError(message, node.lineno or 1)

        if depth > MAX_NESTING:
            raise refuse(f"this is nested more than {MAX_NESTING} levels deep")
        tag = _TAGS.get(type(node))
        if tag is not None or not isinstance(node, _ALLOWED):
            shown = f"{{% {tag} %}}" if tag else type(node).__name__
            raise refuse(
                f"{shown} is not available here: use {{{{ ... }}}} placeholders, filters "
                "and {% if %}"
            )
        if isinstance(node, nodes.Filter) and node.name not in self.filters:
            raise refuse(
                f"there is no filter {node.name!r}; available: {', '.join(sorted(self.filters))}"
            )
        if isinstance(node, nodes.Call):
            callee = node.node.name if isinstance(node.node, nodes.Name) else None
            if callee not in self.globals:
                allowed = " and ".join(f"{name}()" for name in sorted(self.globals, reverse=True))
                raise refuse(
                    f"only {allowed} can be called here; use a filter instead"
                    if allowed
                    else "calling functions is not available here"
                )
        if isinstance(node, _MULTIPLYING) and not self.multiplying:
            raise refuse(f"{node.operator!r} is not available here")  # type: ignore[attr-defined]
        for child in node.iter_child_nodes():
            self._check_node(child, depth + 1)

    def _compute_constants(self, node: nodes.Node) -> None:
        for child in node.iter_child_nodes():
            if not self._is_constant_work(child):
                self._compute_constants(child)
                continue
            body = [nodes.Assign(nodes.Name("result", "store"), child, lineno=child.lineno)]
            try:
                template = self.from_string(nodes.Template(body, lineno=child.lineno))
                TemplateExpression(template, undefined_to_none=False)()
            except TooCostly as exc:
                raise TemplateSyntaxError(str(exc), child.lineno) from None
            except Exception:  # noqa: S112 - any other mistake is reported when it runs, as before
                continue

    def _is_constant_work(self, node: nodes.Node) -> bool:
        """An expression that computes something from constants alone."""
        if not isinstance(node, nodes.Expr) or isinstance(
            node, nodes.Const | nodes.TemplateData | nodes.Name
        ):
            return False
        return all(name.name in self.globals for name in node.find_all(nodes.Name))
