"""The browser softphone adapter over a real websocket against the real server: an admin's
call reaches the same CallSession as a phone call (real audio, real models, real database);
everyone else is refused with 1008 before any audio."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from tests.calls.helpers import stored_call
from tests.telephony_browser.softphone import (
    RATE,
    Credentials,
    Softphone,
    admin_credentials,
    anonymous_page,
    open_socket,
    refusal,
    staff_credentials,
)
from tests.web.helpers import add_user, audit_entries
from voiceagent.metrics import MEDIA_MESSAGES_SKIPPED
from voiceagent.runtime import SpeechServices
from voiceagent.simulate import sounds
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.speech.resample import resample

POLICY_VIOLATION = 1008
WIDEBAND = 16000


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Credentials:
    add_user(sandbox.runtime.db, "tryadmin", "admin")
    return admin_credentials(sandbox, "tryadmin")


def skipped(kind: str) -> float:
    return MEDIA_MESSAGES_SKIPPED.labels(kind=f"try_call_{kind}")._value.get()


async def test_only_signed_in_admins_from_our_pages_get_a_call(
    sandbox: Sandbox, admin: Credentials
) -> None:
    db = sandbox.runtime.db
    add_user(db, "tryfrontdesk")
    page = anonymous_page(sandbox)
    assert page.status_code == 303 and "/staff/login" in page.headers["location"]
    staff, staff_page = staff_credentials(sandbox, "tryfrontdesk")
    assert staff_page == 403
    calls_before = len(audit_entries(db, "call.open"))
    refused = [
        (Credentials(None, None), {}, "sign-in required"),
        (Credentials("not-a-session", admin.csrf), {}, "sign-in required"),
        (staff, {}, "admins only"),
        (Credentials(admin.cookie, None), {}, "bad csrf token"),
        (Credentials(admin.cookie, "0" * 64), {}, "bad csrf token"),
        (admin, {"origin": "https://evil.example"}, "foreign origin"),
    ]
    for credentials, options, reason in refused:
        code, said = await refusal(sandbox, credentials, **options)
        assert (code, said) == (POLICY_VIOLATION, reason)
    code, said = await refusal(sandbox, admin, rate=12345)
    assert (code, said) == (1003, "unsupported sample rate")
    # No call was opened for any of them.
    assert len(audit_entries(db, "call.open")) == calls_before


def spoken(speech: SpeechServices, text: str, rate: int = RATE) -> np.ndarray:
    """Synthesized speech as the page's microphone would send it (PCM16 at ``rate``)."""
    pcm = np.clip(sounds.speech(speech.synthesizer, text), -32768, 32767).astype(np.int16)
    return resample(pcm, sounds.RATE, rate)


@pytest.mark.audio
async def test_an_admin_asks_for_the_fax_number_by_voice(
    sandbox: Sandbox, admin: Credentials, speech_services: SpeechServices
) -> None:
    question = spoken(speech_services, "What's your fax number?")
    goodbye = spoken(speech_services, "No, that's all. Goodbye.")
    async with open_socket(sandbox, admin) as ws:
        phone = Softphone(ws)
        tasks = [
            asyncio.create_task(phone.run_speaker()),
            asyncio.create_task(phone.run_microphone()),
        ]
        await phone.wait_until(lambda: len(phone.marks_echoed) >= 1, 30, "the greeting to play")
        phone.say(question)
        # The answer, then "anything else?": two more prompts, each played to its mark.
        await phone.wait_until(lambda: len(phone.marks_echoed) >= 3, 45, "the answer to play")
        answered = len(phone.prompts)
        phone.say(goodbye)
        await asyncio.wait_for(phone.closed.wait(), 45)  # the agent says goodbye, hangs up
        await asyncio.gather(*tasks, return_exceptions=True)
        close = (ws.close_code, ws.close_reason)

    ready = phone.of_type("ready")[0]
    call_sid = str(ready["call_sid"])
    assert call_sid.startswith("BR") and len(call_sid) == 34
    assert ready["rate"] == RATE and ready["call_url"] == f"/staff/calls/{call_sid}"
    assert close == (1000, "agent hung up")
    assert phone.of_type("hangup") == [{"type": "hangup", "by": "agent"}]
    assert not phone.of_type("clear")  # nobody talked over anybody
    # Each prompt came as audio followed by its mark, and the page's echoes went back.
    assert all(p.mark and len(p.audio) > RATE // 2 for p in phone.prompts)
    assert phone.marks_echoed[:3] == [p.mark for p in phone.prompts[:3]]
    recognizer = speech_services.recognizer
    greeting = recognizer.transcribe(phone.prompts[0].audio, RATE).text.lower()
    assert "thank you for calling" in greeting
    answer = np.concatenate([p.audio for p in phone.prompts[1:answered]])
    assert "fax number is" in recognizer.transcribe(answer, RATE).text.lower()

    call, turns = stored_call(sandbox, call_sid)
    assert call.called_number == "browser-test"
    assert call.caller_number == "try-call:tryadmin"
    assert call.intent == "clinic_fax"
    assert call.ended_at is not None
    caller = [text.lower() for speaker, text in turns if speaker == "caller"]
    agent = [text.lower() for speaker, text in turns if speaker == "agent"]
    assert len(caller) == 2 and "fax number" in caller[0]
    assert any("fax number is" in line for line in agent)
    assert "goodbye" in agent[-1]
    opened = audit_entries(sandbox.runtime.db, "call.open")
    assert [(e.actor_type, e.actor_id) for e in opened if e.record_id == call.id] == [
        ("staff", "tryadmin")
    ]


@pytest.mark.audio
async def test_a_16khz_page_keypad_zero_transfers_and_bad_messages_are_skipped(
    sandbox: Sandbox, admin: Credentials, speech_services: SpeechServices
) -> None:
    """A browser that runs at 16 kHz (soxr converts on the server) presses 0 during the
    greeting, after sending junk that must not end the call."""
    expected = {
        "malformed_json": 1.0,
        "unknown_type": 1.0,
        "invalid_fields": 1.0,
        "oversized": 2.0,  # a control message over 1 KiB, and 100 KB of audio at once
        "odd_length": 1.0,
    }
    before = {kind: skipped(kind) for kind in expected}
    async with open_socket(sandbox, admin, rate=WIDEBAND) as ws:
        phone = Softphone(ws, rate=WIDEBAND)
        tasks = [
            asyncio.create_task(phone.run_speaker()),
            asyncio.create_task(phone.run_microphone()),
        ]
        await phone.wait_until(
            lambda: bool(phone.prompts) and len(phone.prompts[0].audio) >= 2 * WIDEBAND,
            30,
            "two seconds of the greeting",
        )
        greeting = phone.prompts[0].audio.copy()
        for junk in (
            '{"type": "dtmf", "digit": ',
            json.dumps({"type": "party"}),
            json.dumps({"type": "dtmf", "digit": "12"}),
            json.dumps({"type": "mark", "name": "x" * 2000}),
        ):
            await phone.send_control(junk)
        await ws.send(b"\x00" * 100_000)
        await ws.send(b"\x00" * 641)
        await phone.send_control({"type": "dtmf", "digit": "0"})
        await phone.send_control({"type": "dtmf", "digit": "#"})
        await asyncio.wait_for(phone.closed.wait(), 30)
        await asyncio.gather(*tasks, return_exceptions=True)
        close = (ws.close_code, ws.close_reason)

    assert {kind: skipped(kind) - before[kind] for kind in expected} == expected
    heard = speech_services.recognizer.transcribe(greeting, WIDEBAND).text.lower()
    assert "thank you for calling" in heard
    # The key press talked over the greeting: the page was told to drop what it had queued.
    assert phone.of_type("clear") and phone.prompts[0].cleared
    transfer = phone.of_type("transfer")
    assert len(transfer) == 1 and transfer[0]["reason"] == "caller_request"
    assert "front desk" in str(transfer[0]["message"])
    assert close == (1000, "transferred")
    call, turns = stored_call(sandbox, str(phone.of_type("ready")[0]["call_sid"]))
    assert call.outcome == "transferred" and call.transferred
    assert any(speaker == "agent" for speaker, _ in turns)
