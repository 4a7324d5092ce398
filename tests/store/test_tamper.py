"""A ciphertext moved to another row or column, or altered, fails with a clear error."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import DecryptionError, MissingKeyError
from voiceagent.store.keyring import generate_keyring
from voiceagent.store.models import Patient
from voiceagent.store.repos import get_patient

STAFF = Actor.staff("tester")
PATIENTS = Patient.__table__


def _copy(db: Database, column: str, src: str, dst: str, dst_column: str | None = None) -> None:
    with db.engine.begin() as conn:
        value = conn.execute(select(PATIENTS.c[column]).where(PATIENTS.c.id == src)).scalar_one()
        conn.execute(
            update(PATIENTS).where(PATIENTS.c.id == dst).values({dst_column or column: value})
        )


def test_ciphertext_moved_to_another_row(seeded: Database) -> None:
    _copy(seeded, "first_name", "p-001", "p-002")
    with seeded.session() as s:
        patient = get_patient(s, STAFF, "p-002")
        with pytest.raises(DecryptionError) as err:
            _ = patient.first_name
        assert patient.last_name == "Whitaker"  # the rest of the row still reads
    message = str(err.value)
    assert "patients.first_name:p-002" in message and "another row" in message
    assert "Maria" not in message and "James" not in message


def test_ciphertext_moved_to_another_column(seeded: Database) -> None:
    _copy(seeded, "first_name", "p-001", "p-001", dst_column="last_name")
    with seeded.session() as s, pytest.raises(DecryptionError, match=r"patients\.last_name:p-001"):
        _ = get_patient(s, STAFF, "p-001").last_name


def test_altered_ciphertext(seeded: Database) -> None:
    p001 = PATIENTS.c.id == "p-001"
    with seeded.engine.begin() as conn:
        value = bytearray(conn.execute(select(PATIENTS.c.dob).where(p001)).scalar_one())
        value[20] ^= 0xFF
        conn.execute(update(PATIENTS).where(p001).values(dob=bytes(value)))
    with seeded.session() as s, pytest.raises(DecryptionError, match="altered"):
        _ = get_patient(s, STAFF, "p-001").dob


def test_wrong_keyring_names_the_missing_key(seeded: Database) -> None:
    stranger = Database(seeded.url, generate_keyring(key_id="other"))
    try:
        with stranger.session() as s, pytest.raises(MissingKeyError) as err:
            _ = get_patient(s, STAFF, "p-001").first_name
    finally:
        stranger.dispose()
    assert "'key-a'" in str(err.value) and "patients.first_name:p-001" in str(err.value)
