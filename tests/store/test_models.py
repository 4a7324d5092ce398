"""The models on their own (create_all is allowed here): transparent encryption at work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

from voiceagent.store.crypto import envelope_key_id
from voiceagent.store.db import Database
from voiceagent.store.errors import KeyringError
from voiceagent.store.keyring import generate_keyring
from voiceagent.store.models import Base, Patient, Transfer


@pytest.fixture
def mdb(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'models.db'}", generate_keyring(key_id="m1"))
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _raw(db: Database, table: str, column: str, row_id: str) -> bytes:
    t = Base.metadata.tables[table]
    with db.engine.connect() as conn:
        return conn.execute(select(t.c[column]).where(t.c.id == row_id)).scalar_one()


def test_values_are_sealed_at_flush_and_opened_on_read(mdb: Database) -> None:
    with mdb.session() as s:
        patient = Patient(first_name="Maria", last_name="Gonzalez", dob=date(1982, 3, 3))
        patient.phone = "+15551234567"
        assert patient.id and patient.first_name == "Maria"  # id before INSERT, pending value
        s.add(patient)
        pid = patient.id
    raw = _raw(mdb, "patients", "first_name", pid)
    assert raw.startswith(b"v1:m1:") and b"Maria" not in raw
    assert envelope_key_id(raw) == "m1"
    with mdb.session() as s:
        loaded = s.get(Patient, pid)
        assert loaded is not None
        assert (loaded.first_name, loaded.last_name, loaded.dob, loaded.phone, loaded.address) == (
            "Maria",
            "Gonzalez",
            date(1982, 3, 3),
            "+15551234567",
            None,
        )
        assert loaded.dob_bidx and loaded.last_name_dob_bidx and loaded.phone_bidx
    # Detached objects stay readable: they remember their keyring.
    assert loaded.first_name == "Maria"


def test_same_value_is_not_rewritten_and_changes_update_indexes(mdb: Database) -> None:
    with mdb.session() as s:
        patient = Patient(first_name="Ana", last_name="Silva", dob=date(1990, 1, 2))
        s.add(patient)
    before = _raw(mdb, "patients", "last_name", patient.id)
    with mdb.session() as s:
        p = s.get(Patient, patient.id)
        p.last_name = "Silva"  # unchanged: no new nonce, no UPDATE
        assert not s.dirty
        old_index = p.last_name_dob_bidx
    assert _raw(mdb, "patients", "last_name", patient.id) == before
    with mdb.session() as s:
        p = s.get(Patient, patient.id)
        p.last_name = "Souza"
    with mdb.session() as s:
        p = s.get(Patient, patient.id)
        assert p.last_name == "Souza" and p.last_name_dob_bidx != old_index
    assert _raw(mdb, "patients", "last_name", patient.id) != before


def test_json_values_and_type_checks(mdb: Database) -> None:
    summary = {"intent": "refill", "notes": ["asked twice"], "verified": True}
    with mdb.session() as s:
        transfer = Transfer(reason_code="caller_request", summary=summary)
        s.add(transfer)
    assert b"refill" not in _raw(mdb, "transfers", "summary", transfer.id)
    with mdb.session() as s:
        assert s.get(Transfer, transfer.id).summary == summary
    with pytest.raises(TypeError, match=r"Patient\.dob takes date"):
        Patient(first_name="X", last_name="Y", dob=19820303)


def test_rollback_drops_pending_plaintext(mdb: Database) -> None:
    with mdb.session() as s:
        patient = Patient(first_name="Ana", last_name="Silva", dob=date(1990, 1, 2))
        s.add(patient)
    session = mdb.session_factory()
    p = session.get(Patient, patient.id)
    p.first_name = "Changed"
    session.rollback()
    assert p.first_name == "Ana"
    session.close()


def test_session_without_keyring_is_refused(mdb: Database) -> None:
    from sqlalchemy.orm import Session

    with Session(mdb.engine) as s:
        s.add(Patient(first_name="A", last_name="B", dob=date(2000, 1, 1)))
        with pytest.raises(KeyringError, match=r"Database\.session"):
            s.flush()
    with mdb.session() as s:
        assert s.scalars(select(Patient)).all() == []
