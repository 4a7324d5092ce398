"""Retention purge: transcripts and audio references go, the call record stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.models import AuditEntry, Call, CallTurn
from voiceagent.store.repos import add_turn, close_call, open_call
from voiceagent.store.retention import purge_transcripts

from .helpers import NOW

AGENT = Actor.agent("CA-ret")


def _call(db: Database, sid: str, days_ago: int, turns: int) -> None:
    started = NOW - timedelta(days=days_ago)
    with db.session() as s:
        call = open_call(s, AGENT, call_sid=sid, caller_number="+15551234567", started_at=started)
        for i in range(turns):
            add_turn(s, AGENT, sid, speaker="caller", text=f"turn {i}", at=started)
        call.audio_ref = f"file:///recordings/{sid}.wav"
        close_call(
            s, AGENT, sid, outcome="booked", intent="book", ended_at=started + timedelta(minutes=3)
        )


def test_purge_old_transcripts_keeps_calls(seeded: Database) -> None:
    _call(seeded, "CA-old-1", days_ago=400, turns=3)
    _call(seeded, "CA-old-2", days_ago=120, turns=2)
    _call(seeded, "CA-new", days_ago=5, turns=4)

    dry = purge_transcripts(seeded, older_than_days=90, now=NOW, dry_run=True)
    assert (dry.calls, dry.turns, dry.audio_refs) == (2, 5, 2)
    report = purge_transcripts(seeded, older_than_days=90, now=NOW)
    assert (report.calls, report.turns, report.audio_refs) == (2, 5, 2)

    with seeded.session() as s:
        calls = {c.call_sid: c for c in s.scalars(select(Call))}
        turns = dict(
            s.execute(select(CallTurn.call_id, func.count()).group_by(CallTurn.call_id)).all()
        )
        purged = s.scalars(
            select(AuditEntry.record_id).where(AuditEntry.action == "call.transcript_purge")
        ).all()
    assert set(calls) == {"CA-old-1", "CA-old-2", "CA-new"}  # every call record stays
    for sid in ("CA-old-1", "CA-old-2"):
        assert calls[sid].outcome == "booked" and calls[sid].audio_ref is None
        assert calls[sid].transcript_purged_at is not None and calls[sid].id not in turns
    assert turns[calls["CA-new"].id] == 4 and calls["CA-new"].audio_ref is not None
    assert sorted(purged) == sorted([calls["CA-old-1"].id, calls["CA-old-2"].id])
    assert purge_transcripts(seeded, older_than_days=90, now=NOW).calls == 0  # idempotent
