from __future__ import annotations

import pytest

from voiceagent.understanding.intents import OUT_OF_SCOPE, IntentClassifier, features_text
from voiceagent.understanding.training import TrainingSet


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd like to make an appointment for next week", "book_appointment"),
        ("i'm a new patient and want to come in", "book_appointment"),
        ("I have to move my appointment to another day", "reschedule_appointment"),
        ("please cancel my appointment on Friday", "cancel_appointment"),
        ("when's my next appointment", "next_appointment"),
        ("I need a refill on my listen-up role", "refill_request"),
        ("what insurance do you have for me", "insurance_on_file"),
        ("do you take Cigna", "insurance_accepted"),
        ("do you take humana insurance", "insurance_accepted"),
        ("I got new insurance", "insurance_update"),
        ("ARE YOU OPEN NOW", "clinic_hours"),
        ("where do I park", "clinic_location"),
        ("what's the fax number", "clinic_fax"),
        ("are you open on christmas day", "clinic_holidays"),
        ("say that again", "repeat"),
        ("go back", "go_back"),
        ("start over", "start_over"),
        ("can I talk to a human", "speak_to_person"),
        ("real person please", "speak_to_person"),
        ("representative", "speak_to_person"),
        ("bye bye", "goodbye"),
        ("never mind", "cancel"),
        ("no I said Tuesday", "correction"),
    ],
)
def test_classifies_training_style_phrases(
    classifier: IntentClassifier, text: str, intent: str
) -> None:
    result = classifier.classify(text)
    assert result.intent == intent, result.ranking[:3]


@pytest.mark.parametrize(
    "text",
    ["what's the weather going to be", "can I order a pizza", "purple elephant banana", ""],
)
def test_out_of_scope_gives_no_intent(classifier: IntentClassifier, text: str) -> None:
    assert classifier.classify(text).intent is None


def test_result_shape(classifier: IntentClassifier) -> None:
    result = classifier.classify("I need to cancel my appointment")
    assert 0.5 < result.confidence <= 1.0
    probs = [p for _, p in result.ranking]
    assert probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0, abs=1e-6)
    assert {name for name, _ in result.ranking} == set(classifier.labels)
    assert OUT_OF_SCOPE in classifier.labels


def test_threshold_turns_uncertain_answers_into_out_of_scope(
    classifier: IntentClassifier, training_set: TrainingSet
) -> None:
    vague = "my appointment"  # book, move, cancel or look up?
    assert classifier.classify(vague).intent is not None
    strict = IntentClassifier.train(training_set, threshold=0.9)
    result = strict.classify(vague)
    assert result.intent is None
    assert result.ranking[0][0].endswith("_appointment")
    assert result.confidence == result.ranking[0][1]


def test_trains_without_out_of_scope_examples() -> None:
    tiny = TrainingSet(
        intents={
            "greet": ["hello", "hi there", "good morning", "hey"],
            "leave": ["goodbye", "bye now", "see you later", "farewell"],
        }
    )
    clf = IntentClassifier.train(tiny, threshold=0.0)
    assert clf.classify("hello hello").intent == "greet"
    assert clf.classify("bye").intent == "leave"


def test_features_fold_whisper_variation() -> None:
    assert features_text("Do you take Etna?") == features_text("do you take humana")
    assert features_text("at 2:30 P.M.") == features_text("at three pm")
    assert features_text("I'd like an appointment!") == "id like an appointment"
