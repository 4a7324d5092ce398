"""The held-out set: separate from training, broad, and scored above the targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from voiceagent.understanding.bench import (
    RESOLVER_KINDS,
    format_report,
    load_heldout,
    run_nlu_bench,
)
from voiceagent.understanding.intents import features_text
from voiceagent.understanding.text import normalize
from voiceagent.understanding.training import TrainingSet

ENTITY_KINDS = {
    "yes_no", "time_preference", "date_of_birth", "digits", "phone", "member_id",
    "person_name", "choice", *RESOLVER_KINDS,
}  # fmt: skip


@pytest.fixture(scope="module")
def heldout(heldout_path: Path) -> dict[str, Any]:
    return load_heldout(heldout_path)


def test_no_heldout_phrase_is_a_training_example(
    heldout: dict[str, Any], training_set: TrainingSet
) -> None:
    trained = {normalize(t) for t in training_set.all_examples()}
    trained_features = {features_text(t) for t in training_set.all_examples()}
    copies = [
        c["id"]
        for c in heldout["intents"]
        if normalize(c["text"]) in trained or features_text(c["text"]) in trained_features
    ]
    assert copies == []


def test_heldout_is_broad(heldout: dict[str, Any], training_set: TrainingSet) -> None:
    intents = heldout["intents"]
    assert len(intents) >= 150
    assert {c["intent"] for c in intents} == set(training_set.intents) | {None}
    assert len(heldout["entities"]) >= 120
    assert {c["kind"] for c in heldout["entities"]} == ENTITY_KINDS
    ids = [c["id"] for c in intents + heldout["entities"]]
    assert len(ids) == len(set(ids))


def test_bench_meets_targets(dialogs_dir: Path, heldout_path: Path) -> None:
    report = run_nlu_bench(dialogs_dir, heldout_path)
    text = format_report(report)
    print(text)  # the numbers, for the CI log
    assert report.intent_accuracy >= 0.95, text
    assert report.entity_accuracy >= 0.95, text
    assert report.oos_recall >= 0.8 and report.oos_precision >= 0.8, text
    assert report.calibration_error < 0.15, text
    for kind, (correct, total) in report.entity_by_kind.items():
        assert correct / total >= 0.8, kind
    assert "intent accuracy" in text and "out-of-scope precision" in text
    for miss in report.intent_misses:
        assert miss.id in text
