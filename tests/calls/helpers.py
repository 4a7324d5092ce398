"""Running scripted calls against the sandbox and reading back what the server stored."""

from __future__ import annotations

import time

import yaml

from voiceagent.runtime import SpeechServices
from voiceagent.simulate.caller import CallReport, SimulatedCaller
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.simulate.scenario import Scenario
from voiceagent.store import Actor
from voiceagent.store.models import Call
from voiceagent.store.repos import calls as call_repo

TEST_ACTOR = Actor.system("tests")


def scenario(text: str) -> Scenario:
    return Scenario.model_validate(yaml.safe_load(text))


async def place_call(
    sandbox: Sandbox, speech: SpeechServices, script: str, *, transcribe_agent: bool = True
) -> CallReport:
    caller = SimulatedCaller(
        sandbox.url,
        auth_token=sandbox.settings.twilio_auth_token_value,
        account_sid=sandbox.settings.twilio_account_sid,
        speech=speech,
        transcribe_agent=transcribe_agent,
    )
    return await caller.run(scenario(script))


def stored_call(
    sandbox: Sandbox, call_sid: str, *, timeout: float = 30.0
) -> tuple[Call, list[tuple[str, str]]]:
    """The closed call row and its decrypted transcript as (speaker, text) pairs.

    The server closes the record a moment after the caller hangs up; wait for it (the
    timeout is a bound for a busy machine, not a speed target).
    """
    deadline = time.monotonic() + timeout
    while True:
        with sandbox.runtime.db.session() as session:
            call = call_repo.get_call(session, TEST_ACTOR, call_sid)
            turns = [(turn.speaker, turn.text) for turn in call.turns]
        if call.ended_at is not None:
            return call, turns
        assert time.monotonic() < deadline, f"the call record was not closed in {timeout} s"
        time.sleep(0.1)


def caller_lines(turns: list[tuple[str, str]]) -> list[str]:
    return [text.lower() for speaker, text in turns if speaker == "caller"]
