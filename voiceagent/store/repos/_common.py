"""Small helpers the repositories share."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.blind import BlindIndex
from voiceagent.store.encrypted import KEYRING_INFO
from voiceagent.store.errors import KeyringError, NotFound

M = TypeVar("M")

# Audit entries list at most this many record ids; the count is always exact.
MAX_AUDITED_IDS = 200


def get_or_404(session: Session, model: type[M], record_id: str, record_type: str) -> M:
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(record_type, record_id)
    return row


def blind_index(session: Session) -> BlindIndex:
    keyring = session.info.get(KEYRING_INFO)
    if keyring is None:
        raise KeyringError("no keyring on this session: use Database.session()")
    return BlindIndex(keyring.index_key)


def in_range(stmt: Select[Any], column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def ids_of(rows: list[Any]) -> list[str]:
    return [row.id for row in rows[:MAX_AUDITED_IDS]]


def audited_list(
    session: Session,
    actor: Actor,
    model: type[M],
    action: str,
    record_type: str,
    *,
    status: str | None,
    patient_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[M]:
    """Work-queue records newest first, filtered; the read is audited with its ids."""
    table: Any = model
    stmt = select(model).order_by(table.created_at.desc())
    if status is not None:
        stmt = stmt.where(table.status == status)
    if patient_id is not None:
        stmt = stmt.where(table.patient_id == patient_id)
    stmt = in_range(stmt, table.created_at, since, until).limit(limit)
    rows = list(session.scalars(stmt))
    audit.record(
        session,
        actor,
        action,
        record_type,
        None,
        patient_id=patient_id,
        count=len(rows),
        ids=ids_of(rows),
    )
    return rows
