"""Whole calls through the real websocket with real audio, real models and a real database."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.calls.helpers import caller_lines, place_call, stored_call
from voiceagent.metrics import MEDIA_MESSAGES_SKIPPED
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store.models import RefillRequest

pytestmark = pytest.mark.audio


async def test_caller_hears_the_greeting_and_is_understood(
    sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    report = await place_call(
        sandbox,
        speech_services,
        """
        name: booking request
        steps:
          - wait_for: how can i help
          - say: I'd like to book an appointment.
          - wait_for: first and last name
          - hangup: true
        """,
    )
    assert report.webhook_status == 200
    assert report.disclosure and "automated assistant" in report.disclosure
    assert report.greeting_ms is not None  # printed by the simulator; not asserted as a time
    assert report.turns[0].response_gap_ms is not None
    call, turns = stored_call(sandbox, report.call_sid)
    heard = caller_lines(turns)
    assert len(heard) == 1
    assert "book" in heard[0] and "appointment" in heard[0]
    assert call.intent == "book_appointment"
    assert call.outcome == "caller_hung_up"
    assert call.greeting_ms is not None
    assert any(speaker == "agent" and "Maple Street" in text for speaker, text in turns)
    async with httpx.AsyncClient() as client:  # the response gap, stage by stage
        exposed = (await client.get(f"{sandbox.url}/metrics")).text
    for stage in ("response_gap", "asr", "dialog", "greeting_latency"):
        count = re.search(rf"^voiceagent_{stage}_seconds_count (\S+)$", exposed, re.MULTILINE)
        assert count and float(count.group(1)) >= 1, stage


async def test_talking_over_the_agent_stops_it_with_clear(
    sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    report = await place_call(
        sandbox,
        speech_services,
        """
        name: barge-in on a long prompt
        steps:
          - wait_for: how can i help
          - say: Can you tell me a joke?
          - barge_in: Sorry, what time do you close today?
            after: 1.5
          - wait_for: (open|close)
          - hangup: true
        """,
    )
    assert len(report.clears) == 1
    assert len(report.barge_in_ms) == 1
    cut = [p for p in report.prompts if p.cut_short]
    assert len(cut) == 1
    assert len(cut[0].frames) * 20 < 5000  # a long help prompt, stopped early
    _call, turns = stored_call(sandbox, report.call_sid)
    assert any("close" in line for line in caller_lines(turns))


async def test_refill_by_voice_with_a_yes_after_a_pause(
    sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    report = await place_call(
        sandbox,
        speech_services,
        """
        name: lisinopril refill by voice
        steps:
          - wait_for: how can i help
          - say: I need a refill on my prescription.
          - wait_for: first and last name
          - say: Maria Gonzalez.
          - wait_for: birth
          - say: March third, nineteen eighty-two.
          - wait_for: which medication
          - say: Lisinopril.
          - wait_for: pharmacy
          - pause: 2.0
          - say: "Yes."
          - wait_for: refill request
          - hangup: true
        """,
    )
    call, turns = stored_call(sandbox, report.call_sid)
    heard = caller_lines(turns)
    assert "yes" in heard[-1]
    assert call.patient_id == "p-001" and call.verified
    assert call.outcome == "refill_requested"
    with sandbox.runtime.db.session() as session:
        refills = session.query(RefillRequest).filter_by(call_id=call.id).all()
        assert [r.status for r in refills] == ["pending"]


async def test_a_cough_and_a_backchannel_do_not_interrupt_the_agent(
    sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    report = await place_call(
        sandbox,
        speech_services,
        """
        name: noises during a long prompt
        steps:
          - wait_for: how can i help
          - say: Can you tell me a joke?
          - noise: cough
            after: 1.0
          - expect_no_clear: 1.0
          - noise: mhm
            after: 3.0
          - expect_no_clear: 1.0
          - noise: click
            after: 5.5
          - expect_no_clear: 1.0
          - hangup: true
        """,
        transcribe_agent=True,
    )
    assert report.clears == []
    _call, turns = stored_call(sandbox, report.call_sid)
    assert len(caller_lines(turns)) == 1  # only the question; no noise counted as a turn


async def test_bad_messages_are_skipped_and_the_call_goes_on(
    sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    def skipped(kind: str) -> float:
        return MEDIA_MESSAGES_SKIPPED.labels(kind=kind)._value.get()

    kinds = ["malformed_json", "unknown_event", "bad_base64", "oversized", "invalid_fields"]
    before = {kind: skipped(kind) for kind in [*kinds, "duplicate_start"]}
    report = await place_call(
        sandbox,
        speech_services,
        """
        name: a hostile client mid-call
        steps:
          - inject: malformed_json
          - inject: unknown_event
          - inject: bad_base64
          - inject: oversized
          - inject: invalid_fields
          - inject: second_start
          - wait_for: how can i help
          - say: What's your fax number?
          - wait_for: fax number
          - hangup: true
        """,
    )
    for kind in before:
        assert skipped(kind) == before[kind] + 1, kind
    call, turns = stored_call(sandbox, report.call_sid)
    heard = caller_lines(turns)
    assert len(heard) == 1 and "fax" in heard[0]
    assert call.intent == "clinic_fax"
