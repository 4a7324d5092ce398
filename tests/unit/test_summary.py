"""The handoff summary and the whisper staff hear before the caller is connected."""

from __future__ import annotations

from voiceagent.handoff.summary import HandoffSummary, build_summary


def summary(**overrides: object) -> HandoffSummary:
    values: dict[str, object] = {
        "caller_number": "+15550001111",
        "patient_id": "p-9",
        "patient_name": "Pat Example",
        "verified": True,
        "intent": "refill_request",
        "details": {"medication": "lisinopril"},
        "reason_code": "test_results",
        "reason": "The caller asks about lab results.",
        "urgency": "routine",
        "transcript": [("caller", f"turn {i}") for i in range(10)],
    }
    values.update(overrides)
    return build_summary(**values)  # type: ignore[arg-type]


def test_whisper_names_a_verified_patient_topic_and_reason() -> None:
    assert summary().whisper() == (
        "Verified patient Pat Example, calling about refill request; "
        "asking about test results, sensitive topic."
    )


def test_whisper_says_when_the_caller_is_not_verified_or_unknown() -> None:
    assert (
        summary(verified=False)
        .whisper()
        .startswith("Caller says they are Pat Example, not verified")
    )
    assert summary(patient_name=None, verified=False, intent=None).whisper() == (
        "Unidentified caller; asking about test results, sensitive topic."
    )


def test_urgent_and_emergency_handoffs_say_so() -> None:
    spoken = summary(reason_code="emergency", urgency="emergency").whisper()
    assert "possible emergency" in spoken and spoken.endswith("Urgent.")


def test_summary_keeps_the_last_turns_and_a_next_step_and_round_trips() -> None:
    original = summary()
    assert [text for _, text in original.transcript] == [f"turn {i}" for i in range(4, 10)]
    assert original.next_step == "Route to clinical staff to discuss results."
    assert HandoffSummary.from_dict(original.to_dict()) == original
    unknown = summary(reason_code="something_new", reason="Odd request.")
    assert unknown.next_step == "Help the caller: Odd request."
