"""What the agent says and does around a handoff, with the clinic open and closed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from voiceagent.handoff import Action, FindingKind, HandoffReason, Policy, PolicyEngine

NY = ZoneInfo("America/New_York")
MONDAY_10AM = datetime(2026, 12, 7, 10, 0, tzinfo=NY)
SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=NY)
CHRISTMAS_9AM = datetime(2026, 12, 25, 9, 0, tzinfo=NY)  # a Friday, and a holiday


def test_open_clinic_transfers_a_request_for_a_person(clinic_engine: PolicyEngine) -> None:
    finding = clinic_engine.assess("can I talk to a person", now=MONDAY_10AM)
    assert finding is not None and finding.action is Action.TRANSFER
    assert finding.say == (
        "Of course.",
        "I'm connecting you with our front desk; they'll have the details of this call so "
        "you won't need to repeat yourself.",
    )


def test_closed_clinic_offers_a_callback_and_asks_the_reason(clinic_engine: PolicyEngine) -> None:
    finding = clinic_engine.assess("can I talk to a person", now=SATURDAY_NOON)
    assert finding is not None and finding.action is Action.CALLBACK
    assert finding.hands_off
    spoken = " ".join(finding.say)
    assert "closed right now" in spoken
    assert "Monday at 8 AM" in spoken
    assert spoken.endswith("In a few words, what is the call about?")


def test_closed_clinic_still_gives_911_guidance(clinic_engine: PolicyEngine) -> None:
    finding = clinic_engine.assess("my husband is having a stroke", now=CHRISTMAS_9AM)
    assert finding is not None and finding.kind is FindingKind.EMERGENCY
    assert finding.action is Action.CALLBACK  # nobody to transfer to; staff see it later
    assert finding.urgency == "emergency"
    assert "dial 9 1 1 now" in finding.say[0]
    assert "don't wait for a call back" in finding.say[1]


def test_open_clinic_transfers_an_emergency_as_urgent(clinic_engine: PolicyEngine) -> None:
    finding = clinic_engine.assess("I can't breathe", now=MONDAY_10AM)
    assert finding is not None and finding.action is Action.TRANSFER
    assert finding.urgency == "emergency"
    assert "stay on the line" in finding.say[1]


def test_sensitive_topic_after_hours(clinic_engine: PolicyEngine) -> None:
    finding = clinic_engine.assess("did my lab results come back", now=SATURDAY_NOON)
    assert finding is not None and finding.kind is FindingKind.SENSITIVE
    assert finding.action is Action.CALLBACK
    assert finding.say[0] == "Test results need to come from our clinical staff."


def test_callback_confirmation_names_the_next_opening(clinic_engine: PolicyEngine) -> None:
    text = clinic_engine.render_message("after_hours.callback_confirmation", now=CHRISTMAS_9AM)
    assert text.endswith("after we open, Monday at 8 AM.")
    friday_evening = datetime(2026, 12, 3, 18, 0, tzinfo=NY)  # a Thursday
    text = clinic_engine.render_message("after_hours.callback_confirmation", now=friday_evening)
    assert text.endswith("after we open, tomorrow at 8 AM.")


def test_templates_can_name_the_clinic(policy: Policy) -> None:
    messages = policy.messages.model_copy(
        update={"human_request": "Of course, connecting you to {{ clinic_name }}."}
    )
    engine = PolicyEngine(policy.model_copy(update={"messages": messages}), clinic_name="Maple")
    finding = engine.assess("operator")
    assert finding is not None and finding.say[0] == "Of course, connecting you to Maple."


def test_tracker_reasons_become_handoffs(clinic_engine: PolicyEngine) -> None:
    low = clinic_engine.handoff(HandoffReason.LOW_CONFIDENCE, now=MONDAY_10AM)
    assert (low.kind, low.reason_code, low.action) == (
        FindingKind.UNCERTAINTY,
        "low_confidence",
        Action.TRANSFER,
    )
    assert low.say[0] == "I'm having trouble understanding, so let me get you some help."
    attempts = clinic_engine.handoff("max_attempts", now=SATURDAY_NOON)
    assert attempts.action is Action.CALLBACK and attempts.reason_code == "max_attempts"
    angry = clinic_engine.handoff(HandoffReason.FRUSTRATION, now=MONDAY_10AM)
    assert angry.kind is FindingKind.FRUSTRATION and angry.action is Action.TRANSFER
    assert angry.say[0] == "I'm sorry this has been frustrating."
    person = clinic_engine.handoff(HandoffReason.CALLER_REQUEST, now=MONDAY_10AM)
    assert person.kind is FindingKind.HUMAN_REQUEST and person.reason_code == "caller_request"
