"""Key rotation A -> B: complete, resumable, counted; old values never lost."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.engine import URL

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import MissingKeyError
from voiceagent.store.keyring import Keyring
from voiceagent.store.repos import (
    add_turn,
    create_callback,
    create_transfer,
    get_patient,
    list_medications,
    open_call,
)
from voiceagent.store.rotation import count_values_by_key, rotate_keys, verify_decryptable

from .helpers import NOW, seed_demo

AGENT = Actor.agent("CA-rot")


def _totals(db: Database) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in count_values_by_key(db).values():
        total.update(counts)
    return total


def _readable_snapshot(db: Database) -> tuple:
    with db.session() as s:
        maria = get_patient(s, AGENT, "p-001")
        meds = list_medications(s, AGENT, "p-001")
        return (
            maria.first_name,
            maria.last_name,
            maria.dob,
            maria.phone,
            [(m.name, m.dose) for m in meds],
        )


def test_rotation_a_to_b_with_interruption(db_url: URL, keyring: Keyring) -> None:
    db_a = Database(db_url, keyring)
    db_a.migrate()
    seed_demo(db_a)
    with db_a.session() as s:  # values in more tables than the fixture fills
        call = open_call(s, AGENT, call_sid="CA-rot", caller_number="+15551234567", started_at=NOW)
        add_turn(s, AGENT, "CA-rot", speaker="caller", text="I need my lisinopril", at=NOW)
        create_transfer(s, AGENT, reason_code="x", call_id=call.id, summary={"k": "v"})
        create_callback(s, AGENT, phone="+15550001111", name="Someone", reason="why")
    before = _totals(db_a)
    expected = _readable_snapshot(db_a)
    db_a.dispose()
    assert set(before) == {"key-a"} and before["key-a"] > 200

    keyring_b = keyring.with_new_key("key-b")  # A kept for reading, B active
    db_b = Database(db_url, keyring_b)
    partial = rotate_keys(db_b, batch_size=25, max_batches=3)  # an interrupted run
    assert not partial.complete and partial.batches == 3
    mid = _totals(db_b)
    assert mid["key-a"] > 0 and mid["key-b"] == partial.total > 0
    assert sum(mid.values()) == sum(before.values())
    assert verify_decryptable(db_b) == sum(before.values())  # nothing unreadable meanwhile

    resumed = rotate_keys(db_b, batch_size=25)  # re-run resumes where it stopped
    assert resumed.complete
    assert partial.total + resumed.total == before["key-a"]
    after = _totals(db_b)
    assert after == Counter({"key-b": before["key-a"]})
    assert rotate_keys(db_b).total == 0  # nothing left to do
    db_b.dispose()

    # Key A can now leave the keyring: everything reads with B alone.
    only_b = Keyring(
        active="key-b", keys={"key-b": keyring_b.keys["key-b"]}, index_key=keyring.index_key
    )
    db_only_b = Database(db_url, only_b)
    assert verify_decryptable(db_only_b) == sum(before.values())
    assert _readable_snapshot(db_only_b) == expected
    db_only_b.dispose()

    # And the old keyring alone cannot read anything any more: a clear error, not garbage.
    db_old = Database(db_url, keyring)
    with pytest.raises(MissingKeyError, match="'key-b'"):
        _readable_snapshot(db_old)
    db_old.dispose()
