"""What a live call hears when the server stops: handed to the front desk with the call's
summary while the desk is open, a callback request when it is closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.conversations.helpers import place_call
from voiceagent.dialog.base import Hangup, Transfer, Utterance
from voiceagent.dialog.conversations import Conversation
from voiceagent.store.models import Callback
from voiceagent.store.models import Transfer as TransferRow


def mid_refill(conversation_factory, now: datetime):  # type: ignore[no-untyped-def]
    db, factory = conversation_factory(Conversation(name="shutdown", now=now, turns=[]))
    dialog = place_call(db, factory, "+15551234567")
    for line in ("I need a refill.", "Maria Gonzalez", "March 3rd, 1982"):
        dialog.on_utterance(Utterance(line, 0.95, 1200))
    return db, dialog


def test_open_desk_takes_the_call_with_its_summary(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    db, dialog = mid_refill(conversation_factory, datetime(2026, 11, 23, 10, 0))
    reply = dialog.on_shutdown()
    assert "hand you over to our front desk" in " ".join(reply.say)
    assert isinstance(reply.action, Transfer) and reply.action.handoff_id
    with db.session() as session:
        transfer = session.scalars(select(TransferRow)).one()
        assert transfer.reason_code == "system_restart"
        assert transfer.summary["patient"]["verified"] is True
        assert transfer.summary["intent"] == "refill_request"
    assert dialog.on_shutdown().say == ()  # already handed over: nothing more to do
    dialog.on_hangup()  # the stream stops after the redirect: no extra callback
    with db.session() as session:
        assert session.scalars(select(Callback)).all() == []


def test_closed_desk_keeps_a_callback(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    db, dialog = mid_refill(conversation_factory, datetime(2026, 11, 23, 21, 0))
    reply = dialog.on_shutdown()
    assert "call you back" in " ".join(reply.say)
    assert isinstance(reply.action, Hangup)
    with db.session() as session:
        callbacks = session.scalars(select(Callback)).all()
        assert len(callbacks) == 1 and "system restart" in (callbacks[0].reason or "")
