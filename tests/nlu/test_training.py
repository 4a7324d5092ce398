from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.understanding.training import TrainingDataError, TrainingSet, load_training_set

FLOWS = {
    "book_appointment", "reschedule_appointment", "cancel_appointment", "next_appointment",
    "refill_request", "insurance_on_file", "insurance_accepted", "insurance_update",
    "clinic_hours", "clinic_location", "clinic_fax", "clinic_holidays",
}  # fmt: skip
PATTERNS = {"repeat", "go_back", "start_over", "speak_to_person", "goodbye", "cancel", "correction"}


def test_repo_dialogs_cover_every_intent(training_set: TrainingSet) -> None:
    assert set(training_set.intents) == FLOWS | PATTERNS
    for name, examples in training_set.intents.items():
        assert 30 <= len(examples) <= 60, name
        assert len(set(examples)) == len(examples), f"{name} repeats an example"
    assert len(training_set.out_of_scope) >= 50


def test_flow_name_matches_file_name(dialogs_dir: Path, training_set: TrainingSet) -> None:
    for sub in ("flows", "patterns"):
        for path in (dialogs_dir / sub).glob("*.yaml"):
            if "intent:" not in path.read_text():
                continue  # a sub-flow (identity verification): other flows call it
            assert training_set.intents.get(path.stem), path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_other_keys_are_ignored(tmp_path: Path) -> None:
    _write(
        tmp_path / "flows" / "a.yaml",
        "flow: a\ndescription: x\nintent:\n  examples: [hello there, hi]\nsteps:\n  - say: hi\n",
    )
    _write(tmp_path / "out-of-scope.yaml", "examples: [pizza]\n")
    loaded = load_training_set(tmp_path)
    assert loaded.intents == {"a": ["hello there", "hi"]}
    assert loaded.out_of_scope == ["pizza"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("description: no flow\nintent:\n  examples: [a]\n", "missing 'flow'"),
        ("flow: a\nintent: {}\n", "missing 'intent: examples:'"),
        ("flow: a\nintent:\n  examples: []\n", "non-empty list"),
        ("flow: a\nintent: [\n", "not valid YAML"),
    ],
)
def test_bad_file_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "patterns" / "broken.yaml"
    _write(bad, text)
    with pytest.raises(TrainingDataError) as err:
        load_training_set(tmp_path)
    assert str(bad) in str(err.value)
    assert message in str(err.value)


def test_out_of_scope_file_needs_examples(tmp_path: Path) -> None:
    _write(tmp_path / "flows" / "a.yaml", "flow: a\nintent:\n  examples: [hi]\n")
    _write(tmp_path / "out-of-scope.yaml", "phrases: [x]\n")
    with pytest.raises(TrainingDataError, match=r"out-of-scope\.yaml"):
        load_training_set(tmp_path)


def test_duplicate_flow_names_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "flows" / "a.yaml", "flow: a\nintent:\n  examples: [hi]\n")
    _write(tmp_path / "patterns" / "b.yaml", "flow: a\nintent:\n  examples: [yo]\n")
    with pytest.raises(TrainingDataError, match="already defined"):
        load_training_set(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no flow files"):
        load_training_set(tmp_path)
