"""Shared fixtures: the repository's dialogs and one trained classifier per session."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voiceagent.understanding.intents import IntentClassifier
from voiceagent.understanding.training import TrainingSet, load_training_set

ROOT = Path(__file__).resolve().parents[2]
DIALOGS = ROOT / "dialogs"
HELDOUT = Path(__file__).with_name("heldout.yaml")
TZ = ZoneInfo("America/New_York")
# A Wednesday, as in the held-out file.
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=TZ)


@pytest.fixture(scope="session")
def dialogs_dir() -> Path:
    return DIALOGS


@pytest.fixture(scope="session")
def heldout_path() -> Path:
    return HELDOUT


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def training_set() -> TrainingSet:
    return load_training_set(DIALOGS)


@pytest.fixture(scope="session")
def classifier(training_set: TrainingSet) -> IntentClassifier:
    return IntentClassifier.train(training_set)
