"""SIGTERM during a live call: new calls ring the front desk, the live call finishes its
turn and is handed to a person (or kept as a callback when the desk is closed), everything
is persisted, and the server exits within a bounded time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from tests.fakes.twilio_api import FakeTwilioApi, parse_twiml
from tests.reliability.server_process import ServerProcess
from voiceagent.dialog.clinic import ClinicInfo
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.caller import SimulatedCaller
from voiceagent.simulate.scenario import Scenario
from voiceagent.store import Database
from voiceagent.store.models import Call, Callback, Transfer

pytestmark = pytest.mark.audio

SCRIPT = {
    "name": "a call in progress when the server is stopped",
    "steps": [
        {"wait_for": "how can i help"},
        {"say": "I need a refill on my prescription."},
        {"wait_for": "first and last name"},
        {"say": "Maria Gonzalez."},
        {"wait_for": "birth"},
        {"expect_end": 30},  # stays on the line until the server hands the call over
    ],
}


async def test_sigterm_hands_live_calls_over_and_exits(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> None:
    server = ServerProcess(tmp_path, twilio_api)
    await server.start()
    try:
        caller = SimulatedCaller(
            server.url,
            auth_token=twilio_api.auth_token,
            account_sid=twilio_api.account_sid,
            speech=speech_services,
        )
        call = asyncio.create_task(caller.run(Scenario.model_validate(SCRIPT)))
        # Stop the server while the agent waits for the date of birth.
        while not any("birth" in (p.text or "").lower() for p in caller_prompts(caller)):
            assert not call.done(), call
            await asyncio.sleep(0.1)
        stopped_at = time.monotonic()
        stopped_wall = datetime.now(UTC)  # open or closed is decided at this moment
        assert server.process is not None
        server.process.terminate()
        new_call = await post_voice_webhook(server.url, twilio_api)
        report = await call
        exit_code = await asyncio.wait_for(server.process.wait(), 60)
        stopped_in = time.monotonic() - stopped_at
    finally:
        await server.stop()
    assert exit_code == 0, server.log[-3000:]
    assert stopped_in < 30
    dial = parse_twiml(new_call).find("Dial")  # a new call during the restart: the desk
    assert dial is not None and dial.text == "+15557650000"

    heard = " ".join(p.text or "" for p in report.prompts).lower()
    db = Database.from_settings(server.settings)
    with db.session() as session:
        row = session.scalars(select(Call).where(Call.call_sid == report.call_sid)).one()
        assert row.ended_at is not None and row.outcome  # closed, with an outcome
        transfers = session.scalars(select(Transfer).where(Transfer.call_id == row.id)).all()
        callbacks = session.scalars(select(Callback).where(Callback.call_id == row.id)).all()
        clinic = ClinicInfo.load(session)
    db.dispose()
    if clinic.hours.is_open(stopped_wall.astimezone(clinic.timezone)):
        assert "front desk" in heard
        assert [t.reason_code for t in transfers] == ["system_restart"]
        assert twilio_api.call_updates(report.call_sid)  # redirected to the desk
    else:
        assert "call you back" in heard
        assert len(callbacks) == 1


def caller_prompts(caller: SimulatedCaller) -> list:  # type: ignore[type-arg]
    report = getattr(caller, "_report", None)
    return list(report.prompts) if report else []


async def post_voice_webhook(url: str, fake: FakeTwilioApi) -> str:
    form = {"CallSid": "CA" + "7" * 32, "AccountSid": fake.account_sid, "From": "+15550001111"}
    signature = SignatureChecker(fake.auth_token, url).sign(f"{url}/twilio/voice", form)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/twilio/voice", data=form, headers={SIGNATURE_HEADER: signature}
        )
    assert response.status_code == 200
    return response.text
