"""Callback requests for the front desk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.blind import normalize_phone
from voiceagent.store.errors import InvalidTransition
from voiceagent.store.models import Callback
from voiceagent.store.repos._common import audited_list, get_or_404


def create_callback(
    session: Session,
    actor: Actor,
    *,
    phone: str,
    name: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    patient_id: str | None = None,
    call_id: str | None = None,
) -> Callback:
    callback = Callback(
        phone=normalize_phone(phone) or phone,
        name=name,
        reason=reason,
        note=note,
        patient_id=patient_id,
        call_id=call_id,
        status="open",
    )
    session.add(callback)
    session.flush()
    audit.record(
        session,
        actor,
        "callback.create",
        "callback",
        callback.id,
        patient_id=patient_id,
        call_id=call_id,
    )
    return callback


def list_callbacks(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    patient_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Callback]:
    return audited_list(
        session,
        actor,
        Callback,
        "callback.list",
        "callback",
        status=status,
        patient_id=patient_id,
        since=since,
        until=until,
        limit=limit,
    )


def complete_callback(
    session: Session, actor: Actor, callback_id: str, *, now: datetime, note: str | None = None
) -> Callback:
    callback = get_or_404(session, Callback, callback_id, "callback")
    if callback.status != "open":
        raise InvalidTransition(f"callback {callback_id} is already {callback.status}")
    callback.status = "done"
    callback.done_at = now
    callback.done_by = f"{actor.type}:{actor.id}"
    if note is not None:
        callback.note = note
    session.flush()
    audit.record(session, actor, "callback.done", "callback", callback.id)
    return callback
