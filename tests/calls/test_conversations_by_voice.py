"""The conversation scripts marked ``audio: true``, played by voice through the real
websocket: the same lines, the same expectations of what the agent says (as heard through
ASR) and of the database afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.calls.helpers import stored_call
from voiceagent.dialog.conversations import check_database, load_conversation
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.caller import SimulatedCaller
from voiceagent.simulate.conversation import scenario_from_conversation
from voiceagent.simulate.sandbox import Sandbox

pytestmark = pytest.mark.audio

SCRIPTS = sorted(
    path
    for path in (Path(__file__).parent.parent / "conversations").glob("*.yaml")
    if load_conversation(path).audio
)


def test_a_handful_of_scripts_are_played_by_voice() -> None:
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
async def test_conversation_by_voice(
    path: Path, sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    conversation = load_conversation(path)
    caller = SimulatedCaller(
        sandbox.url,
        auth_token=sandbox.settings.twilio_auth_token_value,
        account_sid=sandbox.settings.twilio_account_sid,
        speech=speech_services,
    )
    report = await caller.run(scenario_from_conversation(conversation))
    stored_call(sandbox, report.call_sid)  # waits until the server has closed the call
    failures = check_database(conversation.expect, sandbox.runtime.db, report.call_sid)
    assert failures == []
