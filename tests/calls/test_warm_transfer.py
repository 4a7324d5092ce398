"""A call ends in a warm transfer through Twilio's REST API (a local fake of it): the
redirect's TwiML, the whisper staff hear, and what happens when nobody answers."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from tests.calls.helpers import place_call, stored_call
from tests.fakes.twilio_api import FakeTwilioApi, parse_twiml, twiml_problems
from voiceagent.handoff.summary import HandoffSummary
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store.models import Callback, Transfer

pytestmark = pytest.mark.audio

ASK_FOR_A_PERSON_AFTER_VERIFYING = """
name: verified caller asks for a person
steps:
  - wait_for: how can i help
  - say: I need a refill on my prescription.
  - wait_for: first and last name
  - say: Maria Gonzalez.
  - wait_for: birth
  - say: March third, nineteen eighty-two.
  - wait_for: which medication
  - say: Actually, can I just talk to someone at the front desk?
  - wait_for: connecting you
  - pause: 1.5
  - hangup: true
"""


async def post_signed(sandbox: Sandbox, url: str, form: dict[str, str]) -> httpx.Response:
    signer = SignatureChecker(sandbox.settings.twilio_auth_token_value, sandbox.url)
    headers = {SIGNATURE_HEADER: signer.sign(url, form)}
    async with httpx.AsyncClient() as client:
        return await client.post(url, data=form, headers=headers)


def transfer_of(sandbox: Sandbox, call_id: str) -> Transfer:
    with sandbox.runtime.db.session() as session:
        return session.query(Transfer).filter_by(call_id=call_id).one()


async def test_warm_transfer_redirects_whispers_and_takes_a_callback_on_no_answer(
    sandbox: Sandbox, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> None:
    report = await place_call(sandbox, speech_services, ASK_FOR_A_PERSON_AFTER_VERIFYING)
    # The redirect is sent by the server after the caller heard "connecting you": wait
    # for it (a bound), then make sure it was sent once.
    deadline = time.monotonic() + 30
    while not twilio_api.call_updates(report.call_sid):
        assert time.monotonic() < deadline, "the call was never redirected"
        await asyncio.sleep(0.1)
    updates = twilio_api.call_updates(report.call_sid)
    assert len(updates) == 1, [u.status for u in updates]
    twiml = updates[0].twiml
    assert twiml is not None and twiml_problems(twiml) == []
    dial = parse_twiml(twiml).find("Dial")
    assert dial is not None and dial.get("answerOnBridge") == "true"
    number = dial.find("Number")
    assert number is not None and number.text == "+15557650000"  # the clinic's front desk
    whisper_url, result_url = number.get("url"), dial.get("action")
    assert whisper_url.startswith(f"{sandbox.url}/twilio/transfer/whisper?handoff=")
    assert result_url.startswith(f"{sandbox.url}/twilio/transfer/result?handoff=")

    call, _turns = stored_call(sandbox, report.call_sid)
    assert call.transferred and call.outcome == "transferred"
    assert call.patient_id == "p-001" and call.verified
    transfer = transfer_of(sandbox, call.id)
    assert transfer.reason_code == "caller_request" and transfer.status == "new"
    summary = HandoffSummary.from_dict(transfer.summary)
    assert summary.verified and summary.patient_name == "Maria Gonzalez"
    assert summary.intent == "refill_request"
    assert summary.caller_number == "+15551234567"
    assert any(speaker == "caller" for speaker, _ in summary.transcript)

    leg = {"AccountSid": twilio_api.account_sid, "CallSid": "CA" + "5" * 32}
    whisper = await post_signed(sandbox, whisper_url, leg)
    assert whisper.status_code == 200
    spoken = parse_twiml(whisper.text).find("Say").text
    assert "Verified patient Maria Gonzalez" in spoken and "refill" in spoken

    result = await post_signed(
        sandbox, result_url, {**leg, "CallSid": report.call_sid, "DialCallStatus": "no-answer"}
    )
    assert result.status_code == 200
    document = parse_twiml(result.text)
    assert "call you back" in document.find("Say").text
    assert document.find("Hangup") is not None
    with sandbox.runtime.db.session() as session:
        callbacks = session.query(Callback).filter_by(call_id=call.id).all()
        assert len(callbacks) == 1 and callbacks[0].phone == "+15551234567"
    assert transfer_of(sandbox, call.id).status == "failed"

    # Twilio retries webhooks: a second no-answer must not queue a second callback.
    again = await post_signed(
        sandbox, result_url, {**leg, "CallSid": report.call_sid, "DialCallStatus": "no-answer"}
    )
    assert again.status_code == 200
    with sandbox.runtime.db.session() as session:
        assert session.query(Callback).filter_by(call_id=call.id).count() == 1


async def test_unsigned_transfer_callbacks_are_refused(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        for path in ("whisper", "result"):
            response = await client.post(
                f"{sandbox.url}/twilio/transfer/{path}?handoff=x", data={"CallSid": "CA1"}
            )
            assert response.status_code == 403


async def test_whisper_for_an_unknown_handoff_is_not_found(
    sandbox: Sandbox, twilio_api: FakeTwilioApi
) -> None:
    url = f"{sandbox.url}/twilio/transfer/whisper?handoff=does-not-exist"
    response = await post_signed(sandbox, url, {"AccountSid": twilio_api.account_sid})
    assert response.status_code == 404
