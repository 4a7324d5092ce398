"""Warm transfers to the front desk and their queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.errors import InvalidTransition
from voiceagent.store.models import TRANSFER_URGENCIES, Call, Transfer
from voiceagent.store.repos._common import audited_list, get_or_404

_TRANSFERS = Transfer.__table__


def create_transfer(
    session: Session,
    actor: Actor,
    *,
    reason_code: str,
    call_id: str | None = None,
    patient_id: str | None = None,
    reason: str | None = None,
    urgency: str = "routine",
    summary: dict[str, Any] | None = None,
) -> Transfer:
    """Queue a transfer; the call (if any) is marked transferred with the reason code."""
    if urgency not in TRANSFER_URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    transfer = Transfer(
        call_id=call_id,
        patient_id=patient_id,
        reason_code=reason_code,
        reason=reason,
        urgency=urgency,
        summary=summary,
        status="new",
    )
    session.add(transfer)
    if call_id is not None:
        call = get_or_404(session, Call, call_id, "call")
        call.transferred = True
        call.transfer_reason = reason_code
    session.flush()
    audit.record(
        session,
        actor,
        "transfer.create",
        "transfer",
        transfer.id,
        call_id=call_id,
        patient_id=patient_id,
        reason_code=reason_code,
        urgency=urgency,
    )
    return transfer


def get_transfer(session: Session, actor: Actor, transfer_id: str) -> Transfer:
    transfer = get_or_404(session, Transfer, transfer_id, "transfer")
    audit.record(session, actor, "transfer.read", "transfer", transfer.id)
    return transfer


def list_transfers(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    patient_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Transfer]:
    return audited_list(
        session,
        actor,
        Transfer,
        "transfer.list",
        "transfer",
        status=status,
        patient_id=patient_id,
        since=since,
        until=until,
        limit=limit,
    )


def claim_transfer(session: Session, actor: Actor, transfer_id: str, *, now: datetime) -> Transfer:
    """Claim a new transfer for ``actor``; exactly one staff member can win it."""
    result = session.execute(
        update(_TRANSFERS)
        .where(_TRANSFERS.c.id == transfer_id, _TRANSFERS.c.status == "new")
        .values(
            status="claimed", claimed_by=f"{actor.type}:{actor.id}", claimed_at=now, updated_at=now
        )
    )
    transfer = get_or_404(session, Transfer, transfer_id, "transfer")
    session.refresh(transfer)
    if result.rowcount != 1:
        raise InvalidTransition(f"transfer {transfer_id} is {transfer.status}, not new")
    audit.record(session, actor, "transfer.claim", "transfer", transfer.id)
    return transfer


def finish_transfer(
    session: Session, actor: Actor, transfer_id: str, *, now: datetime, status: str = "done"
) -> Transfer:
    if status not in ("done", "failed"):
        raise ValueError("status must be 'done' or 'failed'")
    transfer = get_or_404(session, Transfer, transfer_id, "transfer")
    if transfer.status in ("done", "failed"):
        raise InvalidTransition(f"transfer {transfer_id} is already {transfer.status}")
    transfer.status = status
    transfer.completed_at = now
    session.flush()
    audit.record(session, actor, "transfer.finish", "transfer", transfer.id, status=status)
    return transfer
