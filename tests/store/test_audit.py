"""The hash-chained audit log: every PHI access leaves an entry; tampering is named."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import delete, func, select, update

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.models import AuditEntry
from voiceagent.store.repos import find_patients, get_insurance, get_patient

STAFF = Actor.staff("frontdesk")
LOG = AuditEntry.__table__


def _entries(db: Database) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _verify(db: Database) -> audit.VerifyResult:
    with db.session() as s:
        return audit.verify(s)


@pytest.fixture
def logged(seeded: Database) -> Database:
    """The seeded clinic plus a few reads, so the chain has some length."""
    for pid in ("p-001", "p-002", "p-003"):
        with seeded.session() as s:
            get_patient(s, STAFF, pid)
            get_insurance(s, STAFF, pid)
    return seeded


def test_reads_and_writes_of_phi_are_audited_without_phi(logged: Database) -> None:
    entries = _entries(logged)
    reads = [e for e in entries if e.action == "patient.read"]
    assert [(e.actor_type, e.actor_id, e.record_id) for e in reads] == [
        ("staff", "frontdesk", "p-001"),
        ("staff", "frontdesk", "p-002"),
        ("staff", "frontdesk", "p-003"),
    ]
    assert sum(e.action == "patient.create" for e in entries) == 25
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    blob = json.dumps([e.details for e in entries])
    for secret in ("Maria", "Gonzalez", "1982", "5551234567", "W123456789", "lisinopril"):
        assert secret not in blob
    with pytest.raises(ValueError, match="looks like PHI"):
        audit.canonical_details({"last_name": "x"})


def test_rolled_back_work_leaves_no_entry(logged: Database) -> None:
    before = len(_entries(logged))
    with pytest.raises(RuntimeError), logged.session() as s:
        get_patient(s, STAFF, "p-004")
        raise RuntimeError("caller hung up")
    assert len(_entries(logged)) == before


def test_untouched_log_verifies(logged: Database) -> None:
    result = _verify(logged)
    assert result.ok and result.problem is None
    assert result.entries == len(_entries(logged)) == result.head_seq


def test_edited_entry_is_named(logged: Database) -> None:
    with logged.engine.begin() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 3).values(actor_id="someone-else"))
    result = _verify(logged)
    assert not result.ok and result.bad_seq == 3
    assert "entry 3 was edited" in result.problem


def test_deleted_entry_is_named(logged: Database) -> None:
    with logged.engine.begin() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == 5))
    result = _verify(logged)
    assert not result.ok and result.bad_seq == 5
    assert "entry 5 is missing" in result.problem


def test_deleted_tail_is_named(logged: Database) -> None:
    last = len(_entries(logged))
    with logged.engine.begin() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == last))
    result = _verify(logged)
    assert not result.ok and result.bad_seq == last
    assert f"entry {last} is missing" in result.problem


def test_swapped_entries_are_named(logged: Database) -> None:
    columns = [c.name for c in LOG.columns if c.name != "seq"]
    with logged.engine.begin() as conn:
        four, six = (conn.execute(select(LOG).where(LOG.c.seq == n)).one()._mapping for n in (4, 6))
        conn.execute(update(LOG).where(LOG.c.seq == 4).values({c: six[c] for c in columns}))
        conn.execute(update(LOG).where(LOG.c.seq == 6).values({c: four[c] for c in columns}))
    result = _verify(logged)
    assert not result.ok and result.bad_seq == 4
    assert "entry 4 holds the record written as entry 6" in result.problem


def test_edited_and_rehashed_entry_is_named(logged: Database) -> None:
    """Recomputing one entry's own hash does not help: the next entry still points at it."""
    with logged.engine.begin() as conn:
        row = conn.execute(select(LOG).where(LOG.c.seq == 7)).one()._mapping
        fields = {k: row[k] for k in row if k not in ("hash",)}
        fields["actor_id"] = "forged"
        new_hash = audit.entry_hash(**fields)
        conn.execute(update(LOG).where(LOG.c.seq == 7).values(actor_id="forged", hash=new_hash))
    result = _verify(logged)
    assert not result.ok and result.bad_seq == 7


def test_concurrent_writers_keep_one_chain(seeded: Database) -> None:
    start = len(_entries(seeded))
    threads, per_thread, errors = 6, 8, []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                with seeded.session() as s:
                    find_patients(s, Actor.agent(f"CA{n}"), phone="+15552145530")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    while any(t.is_alive() for t in pool):  # verifying while others append is fine
        during = _verify(seeded)
        assert during.ok, during.problem
    for t in pool:
        t.join(timeout=120)
    assert errors == []
    result = _verify(seeded)
    assert result.ok, result.problem
    assert result.entries == start + threads * per_thread
    with seeded.session() as s:
        assert s.scalar(select(func.count()).select_from(LOG)) == result.entries
