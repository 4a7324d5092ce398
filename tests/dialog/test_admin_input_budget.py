"""Admin input has a budget. Saving a hostile dialogs file is refused, with its file, line
and what is wrong, in well under a second and 50 MiB; a hostile template cannot make a
live call do unbounded work. Before the limits (voiceagent/sandbox.py,
voiceagent/yamlsource.py) each of these either passed validation, to freeze or bloat a
call later, or took seconds or hundreds of MiB to validate, or crashed the check."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from voiceagent.config import REPO_ROOT
from voiceagent.dialog.templates import Condition, Prompt, TemplateProblem
from voiceagent.dialog.versions import propose
from voiceagent.store.errors import FixtureError
from voiceagent.store.fixture import load_fixture
from voiceagent.yamlsource import Problem

DIALOGS = REPO_ROOT / "dialogs"
FAX = "flows/clinic_fax.yaml"
POLICY = "policy.yaml"
# The budget for validating one hostile save. Time is CPU time of this process:
# the machine may be busy with other test runs, and the point is the work the save costs
# (and the GIL it holds), not the scheduler. Wall time gets a loose bound on top.
CPU_SECONDS = 1.0
WALL_SECONDS = 3.0
PEAK_BYTES = 50 * 2**20


@dataclass(frozen=True)
class Cost:
    cpu: float
    wall: float
    peak: int  # bytes, as tracemalloc saw them


def costed(work: Callable[[], Any]) -> tuple[Any, Cost]:
    """Run ``work`` twice: once timed, once under tracemalloc (which slows it down)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tracemalloc.start()
    try:
        work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, Cost(cpu, wall, peak)


def within_budget(cost: Cost) -> None:
    assert cost.cpu < CPU_SECONDS, f"{cost.cpu:.2f} s of CPU"
    assert cost.wall < WALL_SECONDS, f"{cost.wall:.2f} s"
    assert cost.peak < PEAK_BYTES, f"{cost.peak / 2**20:.1f} MiB"


def shipped(name: str) -> str:
    return (DIALOGS / name).read_text()


def edited(name: str, old: str, new: str) -> str:
    text = shipped(name)
    assert old in text, f"{old!r} not in {name}"
    return text.replace(old, new, 1)


def fax_prompt(template: str) -> str:
    """The fax flow with ``template`` added to the sentence it ends with (line 4)."""
    return edited(FAX, "Our fax number is", f"Our fax number is {template}")


def fax_step(step: str) -> str:
    """The fax flow with ``step`` (YAML lines, indented as a step) before its end (line 4)."""
    return edited(FAX, "  - end:", f"{step}\n  - end:")


# 9 anchors, each list standing for nine of the one before: 201 bytes, 531,441 values.
ALIAS_CHAIN = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prior}'] * 9)}]\n"
    for prior, name in zip("abcde", "bcdef", strict=True)
)

# (saved file, its text, line of the problem or text that starts it, words it must use)
HOSTILE: dict[str, tuple[str, str, int | str, str]] = {
    # Jinja computed this constant while compiling: validation took 4-5 s holding the GIL.
    "constant power in a prompt": (
        FAX,
        fax_prompt("{{ (9**(9**7)) > 1 }}"),
        4,
        "would make a number larger than 64 bits",
    ),
    "constant power in a condition": (
        FAX,
        fax_step("  - when: (9**(9**7)) > 1\n    say: Hello."),
        4,
        "would make a number larger than 64 bits",
    ),
    # Passed validation; rendering it would never finish.
    "nested range loops": (
        FAX,
        fax_prompt(
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
        ),
        4,
        "{% for %} is not available",
    ),
    "a long range in a value": (
        FAX,
        fax_step("  - set: {n: 'range(99999999) | list | length'}"),
        4,
        "range() may give at most 100 numbers",
    ),
    "constant text repeated": (
        FAX,
        fax_prompt("{{ 'ho' * 100000000 }}"),
        4,
        "longer than 2,000 characters",
    ),
    "a macro that calls itself twice": (
        FAX,
        fax_prompt("{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}"),
        4,
        "{% macro %} is not available",
    ),
    "a method with a width": (
        FAX,
        fax_prompt("{{ clinic.name.ljust(100000000) }}"),
        4,
        "only range() and dict() can be called",
    ),
    "a filter with a width": (
        FAX,
        fax_prompt("{{ clinic.name | center(100000000) }}"),
        4,
        "there is no filter 'center'",
    ),
    # The parser recursed until Python gave up: the save crashed instead of answering.
    "deeply nested brackets": (
        FAX,
        fax_prompt("{{ " + "(" * 400 + "1" + ")" * 400 + " }}"),
        4,
        "nested too deeply",
    ),
    # 0.9 s and 125 MiB to validate: every alias was walked in full.
    "a YAML alias chain in a flow": (
        "flows/laughs.yaml",
        ALIAS_CHAIN,
        1,
        "anchors and aliases (&a) are not allowed",
    ),
    "a YAML alias chain in the policy": (
        POLICY,
        ALIAS_CHAIN,
        1,
        "anchors and aliases (&a) are not allowed",
    ),
    # The policy's messages are rendered by the plain sandbox: nothing that multiplies.
    "a power in a policy message": (
        POLICY,
        edited(POLICY, "back after we open, {{ next_opening }}.", "back {{ 9**(9**7) }}."),
        "  no_transfer:",
        "'**' is not available",
    ),
    "a repeated policy variable": (
        POLICY,
        edited(POLICY, "back after we open, {{ next_opening }}.", "{{ next_opening * 9**9 }}."),
        "  no_transfer:",
        "'*' is not available",
    ),
    # 1.4 s and 41 MiB for 45,000 values; 5 s and 179 MiB for 200,000.
    "too many YAML values": (
        "flows/many.yaml",
        "examples: [" + ",".join(["a"] * 45_000) + "]\n",
        1,
        "more than 10,000 values in one file",
    ),
    "a huge file": (
        "flows/huge.yaml",
        "# " + "x" * 200_000 + "\n",
        1,
        "longer than the 100,000 characters",
    ),
    # Composing recursed until Python gave up.
    "deeply nested YAML": (
        "flows/deep.yaml",
        "x: " + "[" * 5000 + "]" * 5000 + "\n",
        1,
        "nested more than 32 levels",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_save_is_refused_at_its_line_within_budget(case: str) -> None:
    name, text, line, words = HOSTILE[case]
    if isinstance(line, str):
        line = next(n for n, text_line in enumerate(text.splitlines(), 1) if line in text_line)
    # What the save route runs first; it validates a copy and never writes to DIALOGS.
    problems, cost = costed(lambda: propose(DIALOGS, name, text))
    mine = [p for p in problems if Path(p.file).name == Path(name).name]
    assert mine, f"not refused: {problems}"
    problem: Problem = mine[0]
    assert (problem.line, words in problem.message) == (line, True), str(problem)
    within_budget(cost)


# Templates whose cost depends on the values they are given: they may pass validation, so
# filling them in (on a live call) must stop early instead.
RENDERED: dict[str, tuple[str, dict[str, Any], str]] = {
    "text repeated": ("{{ name * 100000000 }}", {"name": "x"}, "longer than 2,000 characters"),
    "a power of a value": ("{{ n ** n }}", {"n": 9**7}, "larger than 64 bits"),
    "a list repeated": ("{{ [name] * 100000000 }}", {"name": "x"}, "only text can be repeated"),
    "join's separators": (
        "{{ (name * 2000) | list | join(name * 2000) }}",
        {"name": "x"},
        "longer than 2,000 characters",
    ),
    "replace on every character": (
        "{{ name | replace('', name) | replace('', name) | replace('', name) }}",
        {"name": "x" * 100},
        "longer than 2,000 characters",
    ),
    "a long sentence": ("{{ a ~ a ~ a ~ a }}", {"a": "x" * 1000}, "longer than 2,000"),
    "text formatted with a width": ("{{ '%0999999d' % n }}", {"n": 1}, "cannot be formatted"),
}


@pytest.mark.parametrize("case", sorted(RENDERED))
def test_a_costly_render_stops_early(case: str) -> None:
    source, context, words = RENDERED[case]
    prompt = Prompt(source)

    def render() -> str:
        with pytest.raises(TemplateProblem) as refused:
            prompt.render(context)
        return str(refused.value)

    message, cost = costed(render)
    assert words in message
    within_budget(cost)


def test_a_costly_condition_stops_early() -> None:
    condition = Condition("(offers * 100000000) | length > 0")
    with pytest.raises(TemplateProblem, match="only text can be repeated"):
        condition.evaluate({"offers": [1]})


@pytest.mark.parametrize(
    ("size", "refused"), [(2_000, False), (2_001, True)], ids=["at the cap", "past it"]
)
def test_what_a_prompt_says_has_a_cap(size: int, refused: bool) -> None:
    prompt = Prompt("{{ a }}{{ b }}")
    values = {"a": "x" * (size - 1), "b": "y"}
    if refused:
        with pytest.raises(TemplateProblem, match="longer than 2,000 characters"):
            prompt.render(values)
    else:
        assert len(prompt.render(values)) == size


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("{{ offers | map(attribute='label') | list | spoken_list }}",
         {"offers": [{"label": "Monday"}, {"label": "Tuesday"}]}, "Monday or Tuesday"),
        ("{% if verified %}Hi {{ name }}.{% else %}Hello.{% endif %}",
         {"verified": True, "name": "Maria"}, "Hi Maria."),
        ("{{ 'Ha' * 3 }} {{ 2 ** 10 }} {{ 7 // 2 }} {{ 1 / 4 }}", {}, "HaHaHa 1024 3 0.25"),
        ("{{ 'a-b' | replace('-', ' and ') }}, {{ ['x', 'y'] | join('+') }}", {}, "a and b, x+y"),
        ("{{ range(3) | list | length }} {{ dict(a=1).a }}", {}, "3 1"),
        ("{{ name ~ '!' }}", {"name": "Maria"}, "Maria!"),
    ],
)  # fmt: skip
def test_ordinary_templates_work_as_before(
    source: str, context: dict[str, Any], expected: str
) -> None:
    assert Prompt(source).render(context) == expected


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("(identity_failures | default(0)) + 1", {"identity_failures": 2}, 3),
        ("offers | length == 1", {"offers": ["a"]}, True),
        ("{'id': appointment.provider_id}", {"appointment": {"provider_id": "p"}}, {"id": "p"}),
        ("2 ** 63 - 1 + 1", {}, 2**63),
    ],
)
def test_ordinary_conditions_work_as_before(
    source: str, context: dict[str, Any], expected: Any
) -> None:
    assert Condition(source).evaluate(context) == expected


def test_the_clinic_fixture_may_share_values_but_not_multiply_them(tmp_path: Path) -> None:
    """The fixture is the operator's file, and tools that write it with PyYAML emit aliases
    for a value used twice: those still load; an alias chain is refused before it expands."""
    demo = shipped("demo-clinic.yaml")
    hours = 'hours: {mon: "08:00-17:00"'
    assert hours in demo
    shared = tmp_path / "shared.yaml"
    anchored = demo.replace(hours, 'hours: &week {mon: "08:00-17:00"', 1)
    shared.write_text(anchored + "extra: *week\n")
    assert load_fixture(shared).fixture.clinic.name

    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(demo + ALIAS_CHAIN)

    def load() -> str:
        with pytest.raises(FixtureError) as refused:
            load_fixture(laughs)
        return str(refused.value)

    message, cost = costed(load)
    assert "stand for far more values than it writes out" in message
    within_budget(cost)
