"""Failed identity checks, counted across calls: by calling number and by patient record.

A caller who fails to verify on one call and calls again (or starts over) must not get a
fresh set of guesses at a date of birth. Failures are rows in the database, so the limit
holds across calls and replicas; numbers are kept as blind indexes, never in plaintext.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.ids import new_id
from voiceagent.store.models import IdentityFailure
from voiceagent.store.repos._common import blind_index


def record_failure(
    session: Session,
    actor: Actor,
    *,
    now: datetime,
    call_id: str | None,
    caller_number: str | None,
    near_patient_ids: Iterable[str] = (),
) -> None:
    """One failed check; ``near_patient_ids`` are the records it came close to (a name
    part that matched, the record on the calling number)."""
    caller_bidx = blind_index(session).phone(caller_number) if caller_number else None
    near = sorted(set(near_patient_ids))
    check_id = new_id()
    session.add_all(
        IdentityFailure(
            check_id=check_id, at=now, call_id=call_id, caller_bidx=caller_bidx, patient_id=pid
        )
        for pid in near or [None]
    )
    session.flush()
    audit.record(session, actor, "identity.failed", "call", call_id, near_patients=near)


def failures_from_number(session: Session, caller_number: str | None, *, since: datetime) -> int:
    """Failed checks from this calling number since ``since`` (0 without caller ID)."""
    digest = blind_index(session).phone(caller_number) if caller_number else None
    if digest is None:
        return 0
    return _checks(session, IdentityFailure.caller_bidx == digest, since)


def locked_patients(
    session: Session, patient_ids: Iterable[str], *, since: datetime, limit: int
) -> set[str]:
    """Those of ``patient_ids`` that failed checks came close to ``limit`` times or more."""
    ids = sorted(set(patient_ids))
    if not ids:
        return set()
    stmt = (
        select(IdentityFailure.patient_id)
        .where(IdentityFailure.patient_id.in_(ids), IdentityFailure.at >= since)
        .group_by(IdentityFailure.patient_id)
        .having(func.count(func.distinct(IdentityFailure.check_id)) >= limit)
    )
    return {pid for pid in session.scalars(stmt) if pid is not None}


def _checks(session: Session, condition: ColumnElement[bool], since: datetime) -> int:
    stmt = select(func.count(func.distinct(IdentityFailure.check_id))).where(
        condition, IdentityFailure.at >= since
    )
    return int(session.scalar(stmt) or 0)
