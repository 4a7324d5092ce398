"""The per-call counters: low confidence, failed questions, frustration, asking for a person."""

from __future__ import annotations

from voiceagent.handoff import HandoffReason, PolicyEngine, UncertaintyTracker


def test_two_unsure_turns_in_a_row_hand_off(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    assert tracker.observe(asr_confidence=0.3, intent_confidence=0.9) is None
    assert tracker.observe(asr_confidence=0.9, intent_confidence=0.2) is (
        HandoffReason.LOW_CONFIDENCE
    )


def test_a_confident_turn_resets_the_run(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    assert tracker.observe(asr_confidence=0.3) is None
    assert tracker.observe(asr_confidence=0.95, intent_confidence=0.9) is None
    assert tracker.observe(asr_confidence=0.3) is None
    assert tracker.low_confidence_streak == 1


def test_turns_without_a_classified_intent_use_asr_confidence_only(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    for _ in range(5):  # e.g. date-of-birth answers, heard clearly
        assert tracker.observe(asr_confidence=0.9, intent_confidence=None) is None
    assert tracker.low_confidence_streak == 0


def test_a_question_fails_its_maximum_attempts(engine: PolicyEngine) -> None:
    assert engine.policy.thresholds.max_reprompts == 2
    tracker = engine.new_tracker()
    assert tracker.observe(asr_confidence=0.9, question="dob", question_failed=True) is None
    assert tracker.observe(asr_confidence=0.9, question="dob", question_failed=True) is None
    # A different question has its own count.
    assert tracker.observe(asr_confidence=0.9, question="name", question_failed=True) is None
    assert tracker.observe(asr_confidence=0.9, question="dob", question_failed=True) is (
        HandoffReason.MAX_ATTEMPTS
    )


def test_a_question_can_allow_fewer_attempts_and_be_answered(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    assert tracker.observe(question="pin", question_failed=True, max_reprompts=0) is (
        HandoffReason.MAX_ATTEMPTS
    )
    tracker = engine.new_tracker()
    tracker.observe(question="dob", question_failed=True)
    tracker.observe(question="dob", question_failed=True)
    tracker.question_answered("dob")
    assert tracker.observe(question="dob", question_failed=True) is None


def test_frustration_signals_add_up(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    first = engine.assess("this is ridiculous")
    assert tracker.observe(asr_confidence=0.9, finding=first) is None
    second = engine.assess("you're not listening to me")
    assert tracker.observe(asr_confidence=0.9, finding=second) is HandoffReason.FRUSTRATION


def test_saying_the_same_thing_again_counts_as_frustration(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    assert tracker.observe(text="I need to move my appointment") is None
    assert tracker.observe(text="I need to move my appointment.") is None  # one signal
    assert tracker.frustration_signals == 1
    assert tracker.observe(finding=engine.assess("no no no")) is HandoffReason.FRUSTRATION


def test_short_repeated_answers_are_not_frustration(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    for _ in range(4):
        assert tracker.observe(asr_confidence=0.9, text="yes") is None
    assert tracker.frustration_signals == 0


def test_asking_for_a_person_or_pressing_zero(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    finding = engine.assess("can I speak to a human")
    assert tracker.observe(asr_confidence=0.2, finding=finding) is HandoffReason.CALLER_REQUEST
    assert tracker.observe_dtmf("0") is HandoffReason.CALLER_REQUEST
    assert tracker.observe_dtmf("7") is None


def test_emergencies_are_not_the_trackers_business(engine: PolicyEngine) -> None:
    tracker = engine.new_tracker()
    assert tracker.observe(asr_confidence=0.9, finding=engine.assess("I can't breathe")) is None


def test_tracker_never_prints_what_the_caller_said(engine: PolicyEngine) -> None:
    tracker = UncertaintyTracker(engine.policy)
    tracker.observe(text="my name is Maria Gonzalez")
    assert "Maria" not in repr(tracker)
    tracker.reset()
    assert (tracker.low_confidence_streak, tracker.frustration_signals, tracker.failures) == (
        0,
        0,
        {},
    )
