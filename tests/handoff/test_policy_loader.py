"""The policy file checker: every problem names its line and says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.handoff.conftest import POLICY_PATH
from voiceagent.handoff import PolicyError, Problem, load_policy, validate_policy_file

GOOD = POLICY_PATH.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, start_line: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start_line and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the policy")


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    assert GOOD.count(old) == 1, f"{old!r} must occur exactly once in policy.yaml"
    text = GOOD.replace(old, new)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def _only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_shipped_policy_is_valid() -> None:
    assert validate_policy_file(POLICY_PATH) == []
    policy = load_policy(POLICY_PATH)
    assert len(policy.emergencies) >= 10


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  asr_confidence_min: 0.5", "  asr_confidence_minimum: 0.5")
    problem = _only(validate_policy_file(path))
    assert problem.file == str(path)
    assert problem.line == _line_of(text, "asr_confidence_minimum")
    assert problem.column == 3
    assert "unknown setting 'asr_confidence_minimum'" in problem.message
    assert "did you mean 'asr_confidence_min'" in problem.message


def test_threshold_out_of_range(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  asr_confidence_min: 0.5", "  asr_confidence_min: 1.5")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "asr_confidence_min: 1.5")
    assert "'asr_confidence_min' must be between 0.0 and 1.0 (it is 1.5)" in problem.message


def test_threshold_that_is_not_a_number(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  low_confidence_turns: 2", "  low_confidence_turns: two")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "low_confidence_turns: two")
    assert "must be a whole number" in problem.message


def test_empty_phrase_list(tmp_path: Path) -> None:
    old = "      - I'm pregnant and bleeding\n"
    start = GOOD.index("  - id: pregnancy_distress")
    end = GOOD.index("    word_combinations:", start)
    block = GOOD[GOOD.index("    phrases:\n", start) : end]
    path, text = _broken(tmp_path, block, "    phrases: []\n")
    assert old not in text
    problem = _only(validate_policy_file(path))
    expected = _line_of(text, "phrases: []", _line_of(text, "id: pregnancy_distress"))
    assert problem.line == expected
    assert "pregnancy_distress" in problem.message
    assert "'phrases' is empty" in problem.message


def test_duplicate_category(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  - id: breathing\n", "  - id: chest_pain\n")
    problem = _only(validate_policy_file(path))
    first = _line_of(text, "- id: chest_pain")
    assert problem.line == _line_of(text, "- id: chest_pain", first + 1)
    assert f"duplicate category 'chest_pain' (already used on line {first})" in problem.message


def test_duplicate_phrase(tmp_path: Path) -> None:
    path, text = _broken(
        tmp_path, "      - chest pressure\n", "      - chest pressure\n      - Chest  pressure.\n"
    )
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "Chest  pressure.")
    assert "is already listed" in problem.message


def test_yes_and_no_must_be_quoted(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, '["no", not,', "[no, not,")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "negation_words: [no, not,")
    assert 'put it in quotes, like "no"' in problem.message


def test_yaml_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  word_window: 6 ", "  word_window: [6 ")
    problem = _only(validate_policy_file(path))
    assert problem.message.startswith("YAML syntax")
    assert abs(problem.line - _line_of(text, "word_window: [6")) <= 1


def test_duplicate_key_in_a_section(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  max_reprompts: 2 ", "  max_reprompts: 2\n  max_reprompts: 5 ")
    problem = _only(validate_policy_file(path))
    first = _line_of(text, "max_reprompts: 2")
    assert problem.line == first + 1
    assert f"'max_reprompts' appears twice in the same section (first on line {first})" in (
        problem.message
    )


def test_unknown_template_variable(tmp_path: Path) -> None:
    path, text = _broken(
        tmp_path, "  human_request: Of course.", "  human_request: Of course, {{ patient }}."
    )
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "{{ patient }}")
    assert "unknown variable 'patient'" in problem.message


def test_template_syntax_error(tmp_path: Path) -> None:
    path, text = _broken(
        tmp_path, "  human_request: Of course.", "  human_request: Of course {{ clinic_name"
    )
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "Of course {{ clinic_name")
    assert "template mistake" in problem.message


def test_bad_wildcard(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "      - [suicid*]\n", "      - [suicid*, a*]\n")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "[suicid*, a*]")
    assert "'a*'" in problem.message and "at least 3 letters" in problem.message


def test_missing_section(tmp_path: Path) -> None:
    start = GOOD.index("\nuncertainty:\n")
    end = GOOD.index("\n# ----", start + 1)
    path, text = _broken(tmp_path, GOOD[start:end], "\n")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "version: 1")  # the top level starts there
    assert "the setting 'uncertainty' is missing" in problem.message


def test_wrong_version(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "version: 1\n", "version: 2\n")
    problem = _only(validate_policy_file(path))
    assert problem.line == _line_of(text, "version: 2")
    assert "'version' must be one of 1" in problem.message


def test_several_problems_are_all_reported_in_line_order(tmp_path: Path) -> None:
    text = GOOD.replace("  asr_confidence_min: 0.5", "  asr_confidence_min: -1").replace(
        "  - id: self_harm\n", "  - id: Self Harm\n"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    problems = validate_policy_file(path)
    assert [p.line for p in problems] == [
        _line_of(text, "asr_confidence_min: -1"),
        _line_of(text, "id: Self Harm"),
    ]
    assert "not a valid code" in problems[1].message


def test_load_policy_raises_with_every_problem(tmp_path: Path) -> None:
    path, _text = _broken(tmp_path, "  asr_confidence_min: 0.5", "  asr_confidence_min: 7")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert len(caught.value.problems) == 1
    assert str(path) in str(caught.value)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert _only(validate_policy_file(empty)).message == "the policy file is empty"
    missing = _only(validate_policy_file(tmp_path / "nope.yaml"))
    assert "cannot read the policy file" in missing.message
