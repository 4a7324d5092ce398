"""Append-only, hash-chained audit log.

Repositories call :func:`record` for every read or write of PHI. Entries are queued on the
session and appended in one go just before it commits, so a rolled-back unit of work leaves
no trace and the chain lock is the last lock a transaction takes (no deadlocks with row
locks taken earlier, e.g. by two bookings racing for one slot).

Each entry's hash is SHA-256 over a canonical JSON serialisation of the entry including
the previous entry's hash. Appends serialise on the ``audit_head`` row: ``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite write transactions are serialised already (BEGIN IMMEDIATE).
Sequence numbers are assigned under that lock, so they have no gaps and a missing number
means a deleted entry.

A hash chain shows edits made without recomputing it. Someone with write access to the
database can rewrite the whole chain, so :func:`verify` returns the head hash: record it
somewhere else (a ticket, a log shipper) to anchor the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceagent.logs import PHI_FIELDS, PHI_SUFFIXES
from voiceagent.store.actor import Actor
from voiceagent.store.errors import StoreError
from voiceagent.store.ids import utcnow
from voiceagent.store.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"
_HOOKED = "audit_hooked"
_LOG = AuditEntry.__table__
_HEAD = AuditHead.__table__


@dataclass(frozen=True, slots=True)
class _Pending:
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    record_type: str | None
    record_id: str | None
    details: str


def record(
    session: Session,
    actor: Actor,
    action: str,
    record_type: str | None = None,
    record_id: str | None = None,
    **details: Any,
) -> None:
    """Queue an audit entry; it is written when ``session`` commits.

    ``details`` must not hold PHI: ids, counts, status codes. Keys that look like PHI are
    refused, the same way the log redactor would hide them.
    """
    if not session.info.get(_HOOKED):
        raise StoreError("audit entries need a session from Database.session()")
    session.connection()  # begin the transaction, so commit() runs the audit hook
    session.info.setdefault(_PENDING, []).append(
        _Pending(
            at=utcnow(),
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            record_type=record_type,
            record_id=record_id,
            details=canonical_details(details),
        )
    )


def canonical_details(details: dict[str, Any]) -> str:
    for key in details:
        lowered = key.lower()
        if lowered in PHI_FIELDS or lowered.endswith(PHI_SUFFIXES):
            raise ValueError(f"audit detail {key!r} looks like PHI; audit details hold ids only")
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    record_type: str | None,
    record_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    payload = [
        seq,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor_type,
        actor_id,
        action,
        record_type,
        record_id,
        details,
        prev_hash,
    ]
    canonical = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT: the outer commit writes everything
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()  # take every other lock first; the chain head is taken last
    head = session.execute(
        select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
    ).one()
    seq, prev = head.seq, head.hash
    rows = []
    for entry in pending:
        seq += 1
        fields = {
            "seq": seq,
            "at": entry.at,
            "actor_type": entry.actor_type,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "record_type": entry.record_type,
            "record_id": entry.record_id,
            "details": entry.details,
        }
        digest = entry_hash(**fields, prev_hash=prev)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(_LOG), rows)
    session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=prev))


def _discard_pending(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended (commit or rollback)
        session.info.pop(_PENDING, None)


def install(factory: sessionmaker[Session]) -> None:
    """Make sessions from ``factory`` write their queued audit entries on commit."""
    factory.kw.setdefault("info", {})[_HOOKED] = True
    event.listen(factory, "before_commit", _write_pending)
    event.listen(factory, "after_transaction_end", _discard_pending)


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None


def _hash_of(row: Any, seq: int | None = None) -> str:
    return entry_hash(
        seq=row.seq if seq is None else seq,
        at=row.at,
        actor_type=row.actor_type,
        actor_id=row.actor_id,
        action=row.action,
        record_type=row.record_type,
        record_id=row.record_id,
        details=row.details,
        prev_hash=row.prev_hash,
    )


def _written_as(row: Any, window: int = 1000) -> int | None:
    """The sequence number this row's contents were hashed under, if nearby (a move)."""
    for delta in range(1, window + 1):
        for seq in (row.seq - delta, row.seq + delta):
            if seq > 0 and _hash_of(row, seq) == row.hash:
                return seq
    return None


def _rows(session: Session) -> Iterator[Any]:
    result = session.execute(
        select(_LOG).order_by(_LOG.c.seq), execution_options={"yield_per": 2000}
    )
    yield from result


def verify(session: Session) -> VerifyResult:
    """Walk the chain; report the first entry that was edited, deleted, or moved.

    Give it a fresh session: on PostgreSQL it then reads one REPEATABLE READ snapshot, so
    entries appended while it walks neither block nor confuse it (SQLite transactions
    are serialised anyway).
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one()
    expected, prev, count = 1, GENESIS_HASH, 0

    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(False, count, head.seq, head.hash, seq, problem)

    for row in _rows(session):
        if row.seq != expected:
            return bad(
                expected,
                f"entry {expected} is missing (deleted): the log goes from entry "
                f"{expected - 1} to entry {row.seq}",
            )
        if _hash_of(row) != row.hash:
            origin = _written_as(row)
            if origin is not None:
                return bad(
                    row.seq,
                    f"entry {row.seq} holds the record written as entry {origin}: "
                    "entries were reordered or swapped",
                )
            return bad(row.seq, f"entry {row.seq} was edited: its contents do not match its hash")
        if row.prev_hash != prev:
            culprit = row.seq - 1
            return bad(
                culprit,
                f"entry {culprit} was changed after entry {row.seq} was written "
                f"(entry {row.seq} records a different hash for it): edited and re-hashed, "
                "replaced, or reordered",
            )
        prev, expected, count = row.hash, expected + 1, count + 1

    last = expected - 1
    if head.seq > last:
        return bad(
            last + 1,
            f"entry {last + 1} is missing (deleted): the log ends at entry {last} but "
            f"{head.seq} entries were written",
        )
    if head.seq < last or head.hash != prev:
        return bad(
            head.seq + 1 if head.seq < last else last,
            f"the chain head records entry {head.seq}, but the log ends at entry {last}: "
            "entries were added or changed outside the audit writer",
        )
    return VerifyResult(True, count, head.seq, head.hash)
