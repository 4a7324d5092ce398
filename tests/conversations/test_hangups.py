"""A caller who hangs up at any step of any script: the dialog ends cleanly, and work the
caller had started is kept as a callback for staff, so nothing they said is lost."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.conversations.helpers import place_call
from voiceagent.dialog.base import Utterance
from voiceagent.dialog.conversations import DEFAULT_NOW, Conversation, load_conversation
from voiceagent.store.models import Call, Callback, Transfer

SCRIPTS = sorted(Path(__file__).parent.glob("*.yaml"))


def test_hanging_up_at_every_step_of_every_script_loses_nothing(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    db, factory = conversation_factory(Conversation(name="hang-ups", turns=[]))
    cases = mid_flow = 0
    for path in SCRIPTS:
        conversation = load_conversation(path)
        if conversation.now != DEFAULT_NOW:
            continue  # the shared factory's clock is the default morning
        for cut in range(1, len(conversation.turns) + 1):
            dialog = place_call(db, factory, conversation.caller_id)
            call_sid = dialog.call_sid
            ended = False
            for turn in conversation.turns[1:cut]:
                if turn.caller is not None:
                    reply = dialog.on_utterance(Utterance(turn.caller, turn.confidence, 1500))
                elif turn.dtmf is not None:
                    reply = dialog.on_dtmf(turn.dtmf)
                else:
                    reply = dialog.on_silence()
                if reply.action is not None:
                    ended = True
                    break
            in_flow = dialog.state.frame is not None and not ended
            dialog.on_hangup()
            dialog.on_hangup()  # a second notice (stream stop after a close) changes nothing
            cases += 1
            with db.session() as session:
                call_id = session.scalar(select(Call.id).where(Call.call_sid == call_sid))
                callbacks = list(
                    session.scalars(select(Callback).where(Callback.call_id == call_id))
                )
                transfers = session.scalar(
                    select(func.count()).select_from(Transfer).where(Transfer.call_id == call_id)
                )
                if in_flow:
                    mid_flow += 1
                    assert len(callbacks) == 1, (path.stem, cut)
                    assert "hung up in the middle of" in (callbacks[0].note or "")
                elif not transfers:
                    # Nothing was left unfinished: no callback beyond what the script made.
                    assert all("hung up" not in (c.note or "") for c in callbacks), (path.stem, cut)
    assert cases > 200 and mid_flow > 100
