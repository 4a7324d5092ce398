"""The flow files admins edit: every shipped one validates, and every mistake is reported
with its file, line and column in words an admin can act on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voiceagent.cli import app
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.actions import ACTIONS
from voiceagent.dialog.loader import load_flows
from voiceagent.dialog.versions import validate_dialogs

DIALOGS = REPO_ROOT / "dialogs"


@pytest.fixture
def dialogs(tmp_path: Path) -> Path:
    copy = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_every_shipped_file_validates() -> None:
    assert validate_dialogs(DIALOGS) == []
    flows = load_flows(DIALOGS, ACTIONS.names)
    assert {"book_appointment", "refill_request", "verify_identity"} <= set(flows.flows)
    assert {"repeat", "go_back", "start_over", "correction"} <= set(flows.patterns)


def test_cli_validate_passes_on_the_shipped_files() -> None:
    result = CliRunner().invoke(app, ["flows", "validate", str(DIALOGS)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "message"),
    [
        (
            "flows/book_appointment.yaml",
            "action: find_slots",
            "action: find_slotz",
            "find_slotz",
            "unknown action 'find_slotz'",
        ),
        (
            "flows/clinic_fax.yaml",
            "{{ clinic.fax_spoken }}. Again",
            "{{ clinic.fax_numbr }}. Again",
            "fax_numbr",
            "no attribute",
        ),
        (
            "flows/refill_request.yaml",
            "candidates: medications",
            "candidates: meds",
            "candidates: meds",
            "'meds' is not defined",
        ),
        (
            "flows/clinic_hours.yaml",
            'end: "{{ hours.today }}',
            'end: "{{ hours.today ',
            "hours.today",
            "bad template",
        ),
        (
            "flows/insurance_accepted.yaml",
            "    reprompts:\n      - Sorry, which insurance? For example, Aetna or Medicare.\n",
            "",
            "ask: carrier",
            "add `reprompts:`",
        ),
        (
            "flows/clinic_location.yaml",
            "    outcome: informed",
            "    outcome: informed\n    colour: blue",
            "colour",
            "unknown key",
        ),
        (
            "flows/clinic_fax.yaml",
            "steps:",
            "steps:\n  - goto: nowhere",
            "goto: nowhere",
            "no step with id 'nowhere'",
        ),
        (
            "patterns/goodbye.yaml",
            "flow: goodbye",
            "flow: goodbye\nflow: goodbye_again",
            "goodbye_again",
            "appears twice",
        ),
    ],
)
def test_each_mistake_is_reported_where_it_is(
    dialogs: Path, file: str, old: str, new: str, needle: str, message: str
) -> None:
    path = dialogs / file
    edit(path, old, new)
    problems = validate_dialogs(dialogs)
    matching = [p for p in problems if p.file == str(path) and message in p.message]
    assert matching, [str(p) for p in problems]
    if needle:
        # The reported line is the step or key in question (a step is reported at its start).
        assert matching[0].line <= line_of(path, needle)
        assert matching[0].line >= line_of(path, needle) - 12
    assert matching[0].column >= 1


def test_unreachable_step_is_reported(dialogs: Path) -> None:
    path = dialogs / "flows/clinic_location.yaml"
    edit(path, "    outcome: informed", "    outcome: informed\n  - say: You will never hear this.")
    problems = validate_dialogs(dialogs)
    assert any(
        "can never run" in p.message and p.line == line_of(path, "never hear") for p in problems
    )


def test_yaml_syntax_error_names_the_line(dialogs: Path) -> None:
    path = dialogs / "flows/clinic_fax.yaml"
    path.write_text(path.read_text() + "\n  bad: [unclosed\n")
    problems = validate_dialogs(dialogs)
    assert any(p.file == str(path) and "not valid YAML" in p.message for p in problems)


def test_unquoted_yes_in_examples_is_explained(dialogs: Path) -> None:
    path = dialogs / "out-of-scope.yaml"
    edit(path, '  - "Yes"', "  - Yes")
    problems = validate_dialogs(dialogs)
    assert any(
        "put it in quotes" in p.message and p.line == line_of(path, "- Yes") for p in problems
    )


def test_cli_validate_fails_with_every_problem(dialogs: Path) -> None:
    edit(dialogs / "flows/book_appointment.yaml", "action: find_slots", "action: find_slotz")
    edit(dialogs / "flows/clinic_fax.yaml", "{{ clinic.fax_spoken }}. Again", "{{ nope }}. Again")
    result = CliRunner().invoke(app, ["flows", "validate", str(dialogs)])
    assert result.exit_code == 1
    assert "book_appointment.yaml" in result.output and "clinic_fax.yaml" in result.output
    assert "2 problem(s)" in result.output
