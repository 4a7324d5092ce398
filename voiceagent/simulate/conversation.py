"""A text conversation script (tests/conversations/*.yaml) played as a real call by voice.

Each caller line is spoken, each expected agent reply becomes a ``wait_for`` on what the
agent is heard to say, keys are pressed as DTMF. Scripts that depend on silence timing or
on a clinic clock other than the sandbox's cannot be played this way.
"""

from __future__ import annotations

from voiceagent.dialog.conversations import DEFAULT_NOW, Conversation
from voiceagent.simulate.scenario import CallerProfile, Dtmf, Hangup, Say, Scenario, WaitFor


class NotPlayable(ValueError):
    pass


def scenario_from_conversation(conversation: Conversation) -> Scenario:
    if conversation.now != DEFAULT_NOW:
        raise NotPlayable("the script pins another day or hour than the sandbox's clock")
    steps: list[object] = []
    for turn in conversation.turns:
        if turn.silence:
            raise NotPlayable("silence turns depend on the no-input timer")
        if turn.caller is not None:
            steps.append(Say(say=turn.caller))
        elif turn.dtmf is not None:
            steps.append(Dtmf(dtmf=turn.dtmf))
        if turn.agent:
            steps.append(WaitFor(wait_for=turn.agent, timeout=45))
    steps.append(Hangup())
    return Scenario(
        name=conversation.name,
        caller=CallerProfile(**{"from": conversation.caller_id or "+15550000000"}),
        steps=steps,  # type: ignore[arg-type]
    )
