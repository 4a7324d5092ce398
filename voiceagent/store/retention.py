"""Retention: delete call transcripts and audio references past the retention period.

The call row stays (outcome, intent, timings, transfer flag: what reporting needs); its
turns are deleted and ``audio_ref`` cleared. Each purged call gets an audit entry. Files a
recording feature may have written are that feature's to delete: this clears the
references.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.models import Call, CallTurn

RETENTION_ACTOR = Actor.system("retention")


@dataclass
class PurgeReport:
    cutoff: datetime
    calls: int = 0
    turns: int = 0
    audio_refs: int = 0


def purge_transcripts(
    db: Database,
    *,
    older_than_days: int,
    now: datetime,
    batch_size: int = 500,
    dry_run: bool = False,
) -> PurgeReport:
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = now - timedelta(days=older_than_days)
    report = PurgeReport(cutoff=cutoff)
    has_turns = exists().where(CallTurn.call_id == Call.id)
    due = (Call.started_at < cutoff) & or_(has_turns, Call.audio_ref.is_not(None))
    offset = 0
    while True:
        with db.session() as session:
            stmt = select(Call.id, Call.audio_ref).where(due).order_by(Call.id).limit(batch_size)
            if dry_run:
                stmt = stmt.offset(offset)
            calls = session.execute(stmt).all()
            if not calls:
                return report
            ids = [c.id for c in calls]
            turn_counts = dict(
                session.execute(
                    select(CallTurn.call_id, func.count())
                    .where(CallTurn.call_id.in_(ids))
                    .group_by(CallTurn.call_id)
                ).all()
            )
            report.calls += len(ids)
            report.turns += sum(turn_counts.values())
            report.audio_refs += sum(1 for c in calls if c.audio_ref is not None)
            if dry_run:
                offset += len(ids)
                session.rollback()
                continue
            session.execute(delete(CallTurn).where(CallTurn.call_id.in_(ids)))
            session.execute(
                update(Call)
                .where(Call.id.in_(ids))
                .values(audio_ref=None, transcript_purged_at=now)
                .execution_options(synchronize_session=False)
            )
            for call in calls:
                audit.record(
                    session,
                    RETENTION_ACTOR,
                    "call.transcript_purge",
                    "call",
                    call.id,
                    turns=turn_counts.get(call.id, 0),
                    audio=call.audio_ref is not None,
                    older_than_days=older_than_days,
                )
