"""Understanding: intents trained from the dialogs' YAML examples, and entity parsers."""

from __future__ import annotations

from voiceagent.understanding.intents import OUT_OF_SCOPE, IntentClassifier, IntentResult
from voiceagent.understanding.nlu import Understanding, get_understanding
from voiceagent.understanding.training import TrainingDataError, TrainingSet, load_training_set

__all__ = [
    "OUT_OF_SCOPE",
    "IntentClassifier",
    "IntentResult",
    "TrainingDataError",
    "TrainingSet",
    "Understanding",
    "get_understanding",
    "load_training_set",
]
