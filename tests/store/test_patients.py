"""Patient lookup by blind index, then fuzzy and phonetic matching on a few candidates."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.models import AuditEntry
from voiceagent.store.repos import (
    create_patient,
    find_patients,
    match_patient_name,
    update_patient,
)

AGENT = Actor.agent("CA-lookup")
MARIA_DOB = date(1982, 3, 3)


def test_last_name_and_dob_find_exactly_one(seeded: Database) -> None:
    with seeded.session() as s:
        found = find_patients(s, AGENT, last_name="gonzález", dob=MARIA_DOB)
        assert [p.id for p in found] == ["p-001"]


def test_misheard_name_falls_back_to_dob_and_matches_phonetically(seeded: Database) -> None:
    with seeded.session() as s:
        candidates = find_patients(s, AGENT, last_name="Gonzales", dob=MARIA_DOB)
        # Two patients share that birthday (Maria Gonzalez, Tyrone Jackson).
        assert sorted(p.id for p in candidates) == ["p-001", "p-013"]
        matches = match_patient_name("Marie", "Gonzales", candidates)
        assert [m.patient.id for m in matches] == ["p-001"]
        assert matches[0].score >= 85
        assert match_patient_name("Tyrone", "Jackson", candidates)[0].patient.id == "p-013"
        assert match_patient_name("Robert", "Smith", candidates) == []


def test_name_matching_handles_order_accents_and_punctuation(seeded: Database) -> None:
    with seeded.session() as s:
        esperanza = find_patients(s, AGENT, dob=date(1963, 8, 8))
        assert match_patient_name("Esperanza", "Ramirez", esperanza)[0].patient.id == "p-010"
        assert match_patient_name("Ramirez", "Esperanza", esperanza)[0].patient.id == "p-010"
        siobhan = find_patients(s, AGENT, last_name="OBrien", dob=date(1975, 2, 28))
        assert [p.id for p in siobhan] == ["p-005"]
        assert match_patient_name("Shivaun", "O Brien", siobhan)[0].patient.id == "p-005"


def test_phone_lookup_and_hint_order(seeded: Database) -> None:
    with seeded.session() as s:
        family = find_patients(s, AGENT, phone="(555) 214-5530")
        assert sorted(p.id for p in family) == ["p-015", "p-016"]
        shared_dob = find_patients(s, AGENT, dob=MARIA_DOB, phone="555-212-6679")
        assert [p.id for p in shared_dob] == ["p-013", "p-001"]  # the caller-ID match first
        assert find_patients(s, AGENT, last_name="Gonzalez") == []  # a name alone is not enough
        assert find_patients(s, AGENT, phone="not a number") == []


def test_search_is_audited_with_ids_only(seeded: Database) -> None:
    with seeded.session() as s:
        find_patients(s, AGENT, dob=MARIA_DOB)
    with seeded.session() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.actor_type, entry.actor_id) == (
        "patient.search",
        "agent",
        "CA-lookup",
    )
    assert '"by":"dob"' in entry.details and '"p-001"' in entry.details
    assert "1982" not in entry.details


def test_create_and_update_keep_indexes_in_step(seeded: Database) -> None:
    with seeded.session() as s:
        new = create_patient(
            s, AGENT, first_name="Nadia", last_name="Petrova", dob=date(2001, 6, 30),
            phone="555 300 1234",
        )  # fmt: skip
        assert new.phone == "+15553001234"
    with seeded.session() as s:
        update_patient(s, AGENT, new.id, last_name="Petrova-Ivanova", phone="+15553009999")
    with seeded.session() as s:
        assert find_patients(s, AGENT, last_name="Petrova", dob=date(2001, 6, 30))[0].id == new.id
        exact = find_patients(s, AGENT, last_name="petrova ivanova", dob=date(2001, 6, 30))
        assert [p.id for p in exact] == [new.id]
        assert [p.id for p in find_patients(s, AGENT, phone="555-300-9999")] == [new.id]
        assert find_patients(s, AGENT, phone="555-300-1234") == []
