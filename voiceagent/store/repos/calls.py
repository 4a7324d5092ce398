"""Call records and their transcripts (turns)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.blind import normalize_phone
from voiceagent.store.errors import NotFound
from voiceagent.store.models import Call, CallTurn
from voiceagent.store.repos._common import blind_index, ids_of, in_range


def _by_sid(session: Session, call_sid: str, *, turns: bool = False) -> Call:
    stmt = select(Call).where(Call.call_sid == call_sid)
    if turns:
        stmt = stmt.options(selectinload(Call.turns))
    call = session.scalars(stmt).first()
    if call is None:
        raise NotFound("call", call_sid)
    return call


def open_call(
    session: Session,
    actor: Actor,
    *,
    call_sid: str,
    caller_number: str | None = None,
    called_number: str | None = None,
    started_at: datetime,
) -> Call:
    """Create the call record; a repeated webhook for the same CallSid returns it."""
    existing = session.scalars(select(Call).where(Call.call_sid == call_sid)).first()
    if existing is not None:
        return existing
    call = Call(
        call_sid=call_sid,
        caller_number=(normalize_phone(caller_number) or caller_number) if caller_number else None,
        called_number=called_number,
        started_at=started_at,
        status="in_progress",
    )
    session.add(call)
    session.flush()
    audit.record(session, actor, "call.open", "call", call.id, call_sid=call_sid)
    return call


def call_id_for(session: Session, call_sid: str) -> str | None:
    """The call row's id for a CallSid (no PHI is read), or None if unknown."""
    return session.scalar(select(Call.id).where(Call.call_sid == call_sid))


def caller_number_for(session: Session, actor: Actor, call_sid: str) -> str | None:
    """The caller ID of a call (a hint for identity, never proof), audited as a read."""
    call = session.scalars(select(Call).where(Call.call_sid == call_sid)).first()
    if call is None:
        return None
    audit.record(session, actor, "call.caller_number", "call", call.id)
    return call.caller_number


def get_call(session: Session, actor: Actor, call_sid: str) -> Call:
    """The call with its transcript loaded."""
    call = _by_sid(session, call_sid, turns=True)
    audit.record(session, actor, "call.read", "call", call.id, patient_id=call.patient_id)
    return call


def find_calls_by_caller(
    session: Session, actor: Actor, number: str, limit: int = 20
) -> list[Call]:
    digest = blind_index(session).phone(number)
    rows: list[Call] = []
    if digest:
        stmt = select(Call).where(Call.caller_bidx == digest).order_by(Call.started_at.desc())
        rows = list(session.scalars(stmt.limit(limit)))
    audit.record(session, actor, "call.search", "call", None, count=len(rows), ids=ids_of(rows))
    return rows


def add_turn(
    session: Session,
    actor: Actor,
    call_sid: str,
    *,
    speaker: str,
    text: str,
    asr_confidence: float | None = None,
    intent: str | None = None,
    response_gap_ms: int | None = None,
    at: datetime,
) -> CallTurn:
    call = _by_sid(session, call_sid)
    last = session.scalar(select(func.max(CallTurn.seq)).where(CallTurn.call_id == call.id))
    turn = CallTurn(
        call_id=call.id,
        seq=(last or 0) + 1,
        speaker=speaker,
        text=text,
        asr_confidence=asr_confidence,
        intent=intent,
        response_gap_ms=response_gap_ms,
        at=at,
    )
    session.add(turn)
    call.turn_count = turn.seq
    session.flush()
    audit.record(session, actor, "call.turn", "call", call.id, seq=turn.seq, speaker=speaker)
    return turn


def link_patient(
    session: Session, actor: Actor, call_sid: str, patient_id: str | None, *, verified: bool
) -> Call:
    call = _by_sid(session, call_sid)
    call.patient_id = patient_id
    call.verified = verified
    session.flush()
    audit.record(
        session, actor, "call.identify", "call", call.id, patient_id=patient_id, verified=verified
    )
    return call


def set_call_progress(
    session: Session,
    actor: Actor,
    call_sid: str,
    *,
    intent: str | None = None,
    outcome: str | None = None,
    transferred: bool | None = None,
    transfer_reason: str | None = None,
) -> Call:
    """Note what the call is about, or how it is going, before it ends (None = unchanged)."""
    call = _by_sid(session, call_sid)
    changes = {
        "intent": intent,
        "outcome": outcome,
        "transferred": transferred,
        "transfer_reason": transfer_reason,
    }
    changed = [key for key, value in changes.items() if value is not None]
    for key in changed:
        setattr(call, key, changes[key])
    session.flush()
    audit.record(session, actor, "call.progress", "call", call.id, fields=changed)
    return call


def close_call(
    session: Session,
    actor: Actor,
    call_sid: str,
    *,
    outcome: str,
    status: str = "completed",
    intent: str | None = None,
    transferred: bool | None = None,
    transfer_reason: str | None = None,
    ended_at: datetime,
    greeting_ms: int | None = None,
    keep_outcome: bool = False,
) -> Call:
    """End the call with its outcome; response-gap statistics come from the agent turns.

    ``keep_outcome``: an outcome the dialog already recorded (booked, refill_requested)
    says more than how the line closed, so ``outcome`` only fills a blank.
    """
    call = _by_sid(session, call_sid)
    call.status = status
    if not (keep_outcome and call.outcome):
        call.outcome = outcome
    call.ended_at = ended_at
    if intent is not None:
        call.intent = intent
    if transferred is not None:
        call.transferred = transferred
    if transfer_reason is not None:
        call.transfer_reason = transfer_reason
    if greeting_ms is not None:
        call.greeting_ms = greeting_ms
    gaps = sorted(
        g
        for g in session.scalars(
            select(CallTurn.response_gap_ms).where(
                CallTurn.call_id == call.id, CallTurn.response_gap_ms.is_not(None)
            )
        )
        if g is not None
    )
    if gaps:
        call.gap_p50_ms = _percentile(gaps, 50)
        call.gap_p95_ms = _percentile(gaps, 95)
        call.gap_max_ms = gaps[-1]
    session.flush()
    audit.record(session, actor, "call.close", "call", call.id, outcome=call.outcome, status=status)
    return call


CARRIER_FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def record_status(
    session: Session,
    actor: Actor,
    call_sid: str,
    *,
    status: str,
    now: datetime,
    duration_s: int | None = None,
) -> Call | None:
    """The carrier's status callback (Twilio ``CallStatus``/``CallDuration``).

    A final status (completed, busy, failed, no-answer, canceled) is recorded and, if the
    call was not closed yet, ends it (at start + duration when known). Progress statuses
    (ringing, in-progress) change nothing. An unknown CallSid is ignored (returns None).
    """
    call = session.scalars(select(Call).where(Call.call_sid == call_sid)).first()
    if call is None:
        return None
    status = status.strip().lower()
    if status not in CARRIER_FINAL_STATUSES:
        return call
    call.status = status
    if call.ended_at is None:
        call.ended_at = (
            call.started_at + timedelta(seconds=duration_s) if duration_s is not None else now
        )
    session.flush()
    audit.record(
        session, actor, "call.status", "call", call.id, status=status, duration_s=duration_s
    )
    return call


def _percentile(sorted_values: list[int], pct: float) -> int:
    rank = max(0, math.ceil(pct / 100 * len(sorted_values)) - 1)  # nearest-rank
    return sorted_values[rank]


def list_calls(
    session: Session,
    actor: Actor,
    *,
    patient_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Call]:
    stmt = select(Call).order_by(Call.started_at.desc()).limit(limit)
    if patient_id is not None:
        stmt = stmt.where(Call.patient_id == patient_id)
    stmt = in_range(stmt, Call.started_at, since, until)
    rows = list(session.scalars(stmt))
    audit.record(
        session,
        actor,
        "call.list",
        "call",
        None,
        patient_id=patient_id,
        count=len(rows),
        ids=ids_of(rows),
    )
    return rows
