"""Clinic fixtures: validation with file:line errors, idempotent seeding, the demo clinic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import FixtureError
from voiceagent.store.fixture import load_fixture
from voiceagent.store.models import Appointment, Base, Clinic, Medication, Provider
from voiceagent.store.repos import find_patients, get_patient, open_slots
from voiceagent.store.seed import seed_file

from .helpers import DEMO_CLINIC, NOW, seed_demo

TZ = ZoneInfo("America/New_York")
STAFF = Actor.staff("tester")


def _snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table, ciphertexts included."""
    out = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def test_seeding_twice_changes_nothing(db: Database) -> None:
    first = seed_demo(db)
    assert first.created["patient"] == 25 and first.skipped == []
    before = _snapshot(db)
    second = seed_demo(db)
    assert not second.changed and second.unchanged["patient"] == 25
    assert _snapshot(db) == before  # no new ciphertexts, rows or audit entries


def test_changed_values_update_in_place(db: Database, tmp_path: Path) -> None:
    seed_demo(db)
    data = yaml.safe_load(DEMO_CLINIC.read_text())
    data["patients"][0]["phone"] = "+15551112222"
    data["patients"][0]["medications"][0]["refills_left"] = 5
    data["clinic"]["parking"] = "Street parking only"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    report = seed_file(db, changed)
    assert report.updated["patient"] == 1 and report.updated["medication"] == 1
    assert report.created == {} or sum(report.created.values()) == 0
    with db.session() as s:
        assert [p.id for p in find_patients(s, STAFF, phone="555-111-2222")] == ["p-001"]
        assert s.get(Medication, "p-001-med-1").refills_left == 5
        assert s.get(Clinic, 1).parking == "Street parking only"
        assert len(s.scalars(select(Medication)).all()) == 42


def test_demo_clinic_content(seeded: Database) -> None:
    today = NOW.date()  # the day ``seeded`` counts the demo's relative dates from
    with seeded.session() as s:
        maria = get_patient(s, STAFF, "p-001")
        assert (maria.first_name, maria.last_name, maria.dob, maria.phone) == (
            "Maria",
            "Gonzalez",
            date(1982, 3, 3),
            "+15551234567",
        )
        assert len(s.scalars(select(Provider)).all()) >= 3
        meds = s.scalars(select(Medication)).all()
        assert any(m.controlled for m in meds) and any(m.refills_left == 0 for m in meds)
        upcoming = s.scalars(
            select(Appointment).where(
                Appointment.status == "booked", Appointment.source == "fixture"
            )
        ).all()
        soon = [
            a for a in upcoming if a.start_utc.astimezone(TZ).date() <= today + timedelta(days=14)
        ]
        assert len(soon) >= 10
        clinic = s.get(Clinic, 1)
        assert clinic.hours["fri"] == "08:00-13:00" and "Aetna" in clinic.insurance_accepted
        assert clinic.extra["website"].startswith("https://")
        for appt in soon:  # relative starts land inside the provider's schedule
            slots = open_slots(
                s,
                appointment_type_id=appt.appointment_type_id,
                provider_id=appt.provider_id,
                start=appt.start_utc.astimezone(TZ).date(),
                end=appt.start_utc.astimezone(TZ).date(),
                now=appt.start_utc - timedelta(days=30),
                ignore_appointment_id=appt.id,
            )
            assert appt.start_utc in {sl.start_utc for sl in slots}, appt.id


def test_relative_dates_follow_the_seeding_day(db: Database) -> None:
    seed_demo(db, today=date(2027, 3, 1))  # a Monday
    with db.session() as s:
        whitaker = s.get(Appointment, "p-002-appt-1")  # dr-patel "+1bd 09:40"
        assert whitaker.start_utc.astimezone(TZ) == datetime(2027, 3, 3, 9, 40, tzinfo=TZ)
        tyrone = s.get(Appointment, "p-013-appt-1")
        assert tyrone.status == "cancelled"
    seed_demo(db, today=date(2027, 3, 8))  # a week later, the demo moves along
    with db.session() as s:
        whitaker = s.get(Appointment, "p-002-appt-1")
        assert whitaker.start_utc.astimezone(TZ) == datetime(2027, 3, 10, 9, 40, tzinfo=TZ)


PATIENT = "patients:\n  - id: p-1\n    first_name: A\n    last_name: B\n    dob: 1982-01-03\n"
BAD_FIXTURES = [
    # (path named in the error, fixture text after BASE, line within that text)
    ("patients[0].dob", PATIENT.replace("1982-01-03", "1982-13-03"), 5),
    ("patients[0].last_name", PATIENT.replace("    last_name: B\n", ""), 2),
    ("patients[0].pharmacy", PATIENT + "    pharmacy: nowhere\n", 6),
    (
        "patients[0].appointments[0].provider",
        PATIENT
        + "    appointments:\n      - {provider: dr-who, type: visit, start: '2027-01-04T09:00'}\n",
        7,
    ),
    (
        "patients[0].appointments[0].start",
        PATIENT + "    appointments:\n      - {provider: dr-a, type: visit, start: next tuesday}\n",
        7,
    ),
    (
        "providers[0].schedule.mon",
        "providers:\n  - id: dr-a\n    name: A\n    appointment_types: [visit]\n"
        "    schedule: {mon: '9 to 5'}\n",
        5,
    ),
    (
        "patients[1].id",
        "patients:\n  - {id: p-1, first_name: A, last_name: B, dob: 1982-01-03}\n"
        "  - {id: p-1, first_name: C, last_name: D, dob: 1983-01-03}\n",
        3,
    ),
]

BASE = """clinic:
  name: Test Clinic
  timezone: America/Chicago
  phone: "+15550000001"
  front_desk: "+15550000002"
  hours: {mon: "08:00-17:00"}
appointment_types:
  - {id: visit, name: Visit, minutes: 20}
"""


@pytest.mark.parametrize(("path", "body", "line"), BAD_FIXTURES)
def test_fixture_errors_name_file_line_and_path(
    tmp_path: Path, path: str, body: str, line: int
) -> None:
    fixture = tmp_path / "clinic.yaml"
    if not body.startswith("providers"):
        body += "providers:\n  - {id: dr-a, name: A, appointment_types: [visit]}\n"
    fixture.write_text(BASE + body)
    with pytest.raises(FixtureError) as err:
        load_fixture(fixture)
    offset = BASE.count("\n")
    expected = f"{fixture}:{offset + line}: {path}:"
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_yaml_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BASE + "pharmacies: [\n")
    with pytest.raises(FixtureError, match=rf"{broken}:\d+: invalid YAML"):
        load_fixture(broken)
    dup = tmp_path / "dup.yaml"
    dup.write_text(BASE.replace("  hours:", "  name: Again\n  hours:"))
    with pytest.raises(FixtureError, match=rf"{dup}:6: clinic.name: duplicate key"):
        load_fixture(dup)


def test_error_messages_do_not_quote_patient_data(tmp_path: Path) -> None:
    fixture = tmp_path / "clinic.yaml"
    fixture.write_text(
        BASE + "patients:\n  - {id: p-1, first_name: Zebulon, last_name: Q, dob: Zebulon-1982}\n"
    )
    with pytest.raises(FixtureError) as err:
        load_fixture(fixture)
    assert "Zebulon" not in str(err.value) and "patients[0].dob" in str(err.value)


def test_unknown_keys_warn_or_fail_in_strict_mode(tmp_path: Path) -> None:
    fixture = tmp_path / "clinic.yaml"
    fixture.write_text(BASE + PATIENT + "    eye_color: blue\n")
    loaded = load_fixture(fixture)
    assert loaded.warnings == [f"{fixture}:14: patients[0].eye_color: unknown key (ignored)"]
    with pytest.raises(FixtureError, match="eye_color: unknown key"):
        load_fixture(fixture, strict=True)


def test_demo_fixture_validates_strictly() -> None:
    loaded = load_fixture(DEMO_CLINIC, strict=True)
    fx = loaded.fixture
    assert len(fx.providers) >= 3 and len(fx.appointment_types) >= 5 and len(fx.patients) >= 25
    assert all(p.insurance for p in fx.patients if p.id != "p-012")
