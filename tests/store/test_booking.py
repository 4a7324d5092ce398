"""Open slots, booking, and the database-level guarantee against double booking."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import SlotTaken, SlotUnavailable
from voiceagent.store.models import Appointment, ScheduleException
from voiceagent.store.repos import (
    book_appointment,
    cancel_appointment,
    list_appointments,
    next_appointment,
    open_slots,
    reschedule_appointment,
)

from .helpers import NOW

TZ = ZoneInfo("America/New_York")
AGENT = Actor.agent("CA-test")


def _upcoming(db: Database, type_id: str, provider_id: str, days: int = 21):
    # From tomorrow: a slot starting a few seconds from now could pass mid-test.
    tomorrow = NOW.astimezone(TZ).date() + timedelta(days=1)
    with db.session() as s:
        return open_slots(
            s,
            appointment_type_id=type_id,
            provider_id=provider_id,
            start=tomorrow,
            end=tomorrow + timedelta(days=days),
            now=NOW,
        )


def test_open_slots_follow_schedule_hours_holidays_and_bookings(seeded: Database) -> None:
    slots = _upcoming(seeded, "sick-visit", "dr-patel", days=42)
    assert slots, "dr-patel has sick-visit openings in the next six weeks"
    now = NOW
    with seeded.session() as s:
        holidays = {
            e.day
            for e in s.scalars(select(ScheduleException).where(ScheduleException.kind == "holiday"))
        }
        booked = [
            (a.start_utc, a.end_utc)
            for a in s.scalars(
                select(Appointment).where(
                    Appointment.provider_id == "dr-patel", Appointment.status == "booked"
                )
            )
        ]
    for slot in slots:
        local = slot.start_local
        assert slot.end_utc - slot.start_utc == timedelta(minutes=20)
        assert slot.start_utc >= now
        assert local.tzinfo is not None and local.utcoffset() == TZ.utcoffset(
            local.replace(tzinfo=None)
        )
        assert local.date() not in holidays
        # dr-patel: mon 09:00-12:00 and 13:00-17:00, wed 09:00-12:00; on a 20-minute grid.
        start, end = local.time(), (local + timedelta(minutes=20)).time()
        if local.weekday() == 0:
            windows = [(time(9), time(12)), (time(13), time(17))]
        else:
            assert local.weekday() == 2
            windows = [(time(9), time(12))]
        assert any(start >= w_start and end <= w_end for w_start, w_end in windows)
        assert local.minute % 20 == 0
        assert not any(
            slot.start_utc < b_end and b_start < slot.end_utc for b_start, b_end in booked
        )


def test_holiday_has_no_slots(seeded: Database) -> None:
    with seeded.session() as s:
        slots = open_slots(
            s,
            appointment_type_id="sick-visit",
            start=date(2026, 12, 25),
            end=date(2026, 12, 25),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        assert slots == []
        # The day before is a normal Thursday with openings.
        day_before = open_slots(
            s,
            appointment_type_id="sick-visit",
            start=date(2026, 12, 23),
            end=date(2026, 12, 23),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        assert {sl.provider_id for sl in day_before} >= {"dr-patel", "dr-okafor", "np-reyes"}


def test_book_then_slot_is_gone_and_second_booking_loses(seeded: Database) -> None:
    slot = _upcoming(seeded, "follow-up", "dr-okafor")[0]
    with seeded.session() as s:
        appt = book_appointment(
            s,
            AGENT,
            patient_id="p-004",
            provider_id=slot.provider_id,
            appointment_type_id="follow-up",
            start_utc=slot.start_utc,
            now=NOW,
            reason="Blood pressure check",
        )
        assert appt.end_utc == slot.end_utc
    assert slot not in _upcoming(seeded, "follow-up", "dr-okafor")
    with seeded.session() as s, pytest.raises(SlotTaken):
        book_appointment(
            s,
            AGENT,
            patient_id="p-005",
            provider_id=slot.provider_id,
            appointment_type_id="follow-up",
            start_utc=slot.start_utc,
            now=NOW,
        )
    with seeded.session() as s:
        assert next_appointment(s, AGENT, "p-004", now=NOW).id == appt.id
        assert next_appointment(s, AGENT, "p-004", now=NOW).reason == "Blood pressure check"


def test_overlap_is_refused_by_the_database_itself(seeded: Database) -> None:
    """Different start, overlapping time, schedule check skipped: the blocks table refuses."""
    slot = _upcoming(seeded, "annual-physical", "dr-okafor")[0]  # 40 minutes
    with seeded.session() as s:
        book_appointment(
            s, AGENT, patient_id="p-007", provider_id="dr-okafor",
            appointment_type_id="annual-physical", start_utc=slot.start_utc, now=NOW,
        )  # fmt: skip
    with seeded.session() as s, pytest.raises(SlotTaken):
        book_appointment(
            s, AGENT, patient_id="p-008", provider_id="dr-okafor",
            appointment_type_id="sick-visit", start_utc=slot.start_utc + timedelta(minutes=20),
            now=NOW, check_schedule=False,
        )  # fmt: skip
    # And a raw INSERT that skips the application entirely hits the unique index too.
    with seeded.session() as s:
        existing = s.scalars(
            select(Appointment).where(Appointment.start_utc == slot.start_utc)
        ).one()
        row = {c.name: getattr(existing, c.key) for c in Appointment.__table__.columns}
    row["id"] = "raw-duplicate"
    with pytest.raises(IntegrityError), seeded.engine.begin() as conn:
        conn.execute(Appointment.__table__.insert().values(**row))


def test_outside_schedule_and_off_grid_are_unavailable(seeded: Database) -> None:
    slot = _upcoming(seeded, "sick-visit", "dr-patel")[0]
    sunday = slot.start_local + timedelta(days=(6 - slot.start_local.weekday()))
    with seeded.session() as s:
        for start in (sunday.astimezone(UTC), slot.start_utc + timedelta(minutes=7)):
            with pytest.raises(SlotUnavailable):
                book_appointment(
                    s, AGENT, patient_id="p-001", provider_id="dr-patel",
                    appointment_type_id="sick-visit", start_utc=start, now=NOW,
                )  # fmt: skip
        with pytest.raises(SlotUnavailable, match="does not offer"):
            book_appointment(
                s, AGENT, patient_id="p-001", provider_id="dr-patel",
                appointment_type_id="new-patient", start_utc=slot.start_utc, now=NOW,
            )  # fmt: skip


def test_cancel_frees_and_reschedule_moves(seeded: Database) -> None:
    first, second, *_ = _upcoming(seeded, "sick-visit", "np-reyes")
    with seeded.session() as s:
        appt = book_appointment(
            s, AGENT, patient_id="p-010", provider_id="np-reyes",
            appointment_type_id="sick-visit", start_utc=first.start_utc, now=NOW,
        )  # fmt: skip
    with seeded.session() as s:
        moved = reschedule_appointment(s, AGENT, appt.id, start_utc=second.start_utc, now=NOW)
        assert moved.start_utc == second.start_utc
    slots = _upcoming(seeded, "sick-visit", "np-reyes")
    assert first in slots and second not in slots
    with seeded.session() as s:
        cancel_appointment(s, AGENT, appt.id, now=NOW, reason_code="caller_request")
    assert second in _upcoming(seeded, "sick-visit", "np-reyes")
    with seeded.session() as s:
        rows = list_appointments(s, AGENT, patient_id="p-010")
        assert [(a.id, a.status) for a in rows] == [(appt.id, "cancelled")]


def test_reschedule_onto_taken_slot_keeps_the_old_time(seeded: Database) -> None:
    first, second, *_ = _upcoming(seeded, "sick-visit", "np-reyes")
    with seeded.session() as s:
        a = book_appointment(
            s, AGENT, patient_id="p-010", provider_id="np-reyes",
            appointment_type_id="sick-visit", start_utc=first.start_utc, now=NOW,
        )  # fmt: skip
        book_appointment(
            s, AGENT, patient_id="p-011", provider_id="np-reyes",
            appointment_type_id="sick-visit", start_utc=second.start_utc, now=NOW,
        )  # fmt: skip
    for check in (True, False):
        with seeded.session() as s:
            with pytest.raises(SlotTaken):
                reschedule_appointment(
                    s, AGENT, a.id, start_utc=second.start_utc, now=NOW, check_schedule=check
                )
            assert s.get(Appointment, a.id).start_utc == first.start_utc


def _race(db: Database, bookings: list[dict]) -> Counter[str]:
    """Run the bookings in parallel threads (one session each), released together."""
    barrier = threading.Barrier(len(bookings))
    results: Counter[str] = Counter()
    lock = threading.Lock()

    def run(kwargs: dict) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                book_appointment(s, AGENT, now=NOW, **kwargs)
            outcome = "won"
        except SlotTaken:
            outcome = "SlotTaken"
        except Exception as exc:  # anything else is a failure of the test
            outcome = f"error {type(exc).__name__}: {exc}"
        with lock:
            results[outcome] += 1

    threads = [threading.Thread(target=run, args=(b,)) for b in bookings]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("check_schedule", [True, False])
def test_concurrent_bookings_of_one_slot_have_one_winner(
    seeded: Database, check_schedule: bool
) -> None:
    slot = _upcoming(seeded, "sick-visit", "dr-okafor")[3]
    patients = [f"p-0{n:02d}" for n in range(2, 10)]
    results = _race(
        seeded,
        [
            {
                "patient_id": pid,
                "provider_id": "dr-okafor",
                "appointment_type_id": "sick-visit",
                "start_utc": slot.start_utc,
                "check_schedule": check_schedule,
            }
            for pid in patients
        ],
    )
    assert results == Counter({"won": 1, "SlotTaken": len(patients) - 1})
    with seeded.session() as s:
        count = s.scalar(
            select(func.count()).where(
                Appointment.provider_id == "dr-okafor",
                Appointment.status == "booked",
                Appointment.start_utc == slot.start_utc,
            )
        )
    assert count == 1


def test_concurrent_overlapping_bookings_have_one_winner(seeded: Database) -> None:
    slot = _upcoming(seeded, "new-patient", "dr-okafor")[2]  # 60 minutes
    offsets = [0, 10, 20, 30, 40, 50]
    results = _race(
        seeded,
        [
            {
                "patient_id": f"p-0{10 + i}",
                "provider_id": "dr-okafor",
                "appointment_type_id": "follow-up" if i else "new-patient",
                "start_utc": slot.start_utc + timedelta(minutes=m),
                "check_schedule": False,
            }
            for i, m in enumerate(offsets)
        ],
    )
    # Which bookings win depends on timing (the 60-minute one alone, or up to three
    # 20-minute ones); whatever wins, no two booked appointments overlap.
    assert results["won"] >= 1 and not any(k.startswith("error") for k in results)
    with seeded.session() as s:
        rows = s.scalars(
            select(Appointment)
            .where(
                Appointment.provider_id == "dr-okafor",
                Appointment.status == "booked",
                Appointment.start_utc >= slot.start_utc,
                Appointment.start_utc < slot.start_utc + timedelta(hours=1),
            )
            .order_by(Appointment.start_utc)
        ).all()
    for a, b in pairwise(rows):
        assert a.end_utc <= b.start_utc
    assert len(rows) == results["won"]


def test_slots_follow_the_clinic_time_zone_across_dst(seeded: Database) -> None:
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with seeded.session() as s:
        before = open_slots(
            s, appointment_type_id="sick-visit", provider_id="dr-patel",
            start=date(2027, 3, 8), end=date(2027, 3, 8), now=long_ago,
        )  # fmt: skip
        after = open_slots(
            s, appointment_type_id="sick-visit", provider_id="dr-patel",
            start=date(2027, 3, 15), end=date(2027, 3, 15), now=long_ago,
        )  # fmt: skip
    # 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 UTC after 14 March (EDT).
    assert before[0].start_utc == datetime(2027, 3, 8, 14, 0, tzinfo=UTC)
    assert after[0].start_utc == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert before[0].start_local.hour == after[0].start_local.hour == 9
