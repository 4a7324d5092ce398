"""The pure TwiML builders of a warm transfer."""

from __future__ import annotations

import pytest

from telephony.twilio.control import transfer_result_twiml, whisper_twiml
from telephony.twilio.transfer_twiml import FrontDesk, dial_front_desk_twiml
from tests.fakes.twilio_api import parse_twiml, twiml_problems

SUMMARY = "Verified patient, asking about lab results & <billing>, sensitive topic."
SORRY = "Sorry, nobody could take your call. The front desk will call you back."


def _verbs(document: str) -> list[tuple[str, str | None, dict[str, str]]]:
    assert twiml_problems(document) == []
    return [(el.tag, el.text, dict(el.attrib)) for el in parse_twiml(document)]


def test_whisper_pauses_then_speaks_the_summary_verbatim() -> None:
    assert _verbs(whisper_twiml(SUMMARY)) == [
        ("Pause", None, {"length": "1"}),
        ("Say", SUMMARY, {}),
    ]


def test_whisper_without_pause() -> None:
    assert _verbs(whisper_twiml(SUMMARY, pause_seconds=0)) == [("Say", SUMMARY, {})]


@pytest.mark.parametrize("status", ["completed", "answered", " Completed "])
def test_result_after_a_bridged_call_only_hangs_up(status: str) -> None:
    assert _verbs(transfer_result_twiml(status, SORRY)) == [("Hangup", None, {})]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled", "", "weird"])
def test_result_after_an_unanswered_dial_tells_the_caller(status: str) -> None:
    assert _verbs(transfer_result_twiml(status, SORRY)) == [
        ("Say", SORRY, {}),
        ("Hangup", None, {}),
    ]


def test_result_with_no_message_still_hangs_up() -> None:
    assert _verbs(transfer_result_twiml("busy", "")) == [("Hangup", None, {})]


def test_dial_needs_an_absolute_public_base_url() -> None:
    desk = FrontDesk.parse("+15557650000")
    with pytest.raises(ValueError, match="absolute"):
        dial_front_desk_twiml(desk, public_base_url="clinic.example", handoff_id="h1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+15557650000", FrontDesk("number", "+15557650000")),
        (" +44 20 7946 0958 ", FrontDesk("number", "+442079460958")),
        ("SIP:desk@pbx.example", FrontDesk("sip", "sip:desk@pbx.example")),
        ("client:front.desk", FrontDesk("client", "front.desk")),
    ],
)
def test_front_desk_forms(value: str, expected: FrontDesk) -> None:
    assert FrontDesk.parse(value) == expected


@pytest.mark.parametrize(
    "value", ["5557650000", "+1", "sip:", "sip:a b@c", "client:", "client:a b"]
)
def test_front_desk_rejects_malformed_values(value: str) -> None:
    with pytest.raises(ValueError):
        FrontDesk.parse(value)
