"""Open slots: weekly templates, minus clinic closures and blocked time, minus bookings.

Everything is computed in the clinic's time zone (DST included, via zoneinfo) and returned
with UTC times. Slots of a type start at the beginning of each schedule window and step by
the type's length, so starts are always on the 5-minute booking grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.store.models import (
    Appointment,
    AppointmentType,
    Provider,
    ProviderSchedule,
    ScheduleException,
)
from voiceagent.store.repos._common import get_or_404
from voiceagent.store.repos.clinic import get_clinic, list_providers
from voiceagent.store.schedule import (
    WEEKDAYS,
    day_bounds_utc,
    intersect,
    local_to_utc,
    parse_windows,
)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Slot:
    provider_id: str
    appointment_type_id: str
    start_utc: datetime
    end_utc: datetime
    start_local: datetime  # in the clinic's time zone, for speaking and display


def open_slots(
    session: Session,
    *,
    appointment_type_id: str,
    start: date,
    end: date,
    provider_id: str | None = None,
    now: datetime,
    limit: int | None = None,
    ignore_appointment_id: str | None = None,
) -> list[Slot]:
    """Open slots of a type from ``start`` to ``end`` (clinic-local dates, inclusive),
    for one provider or every provider offering the type, earliest first; past times are
    skipped (before ``now``, from the runtime's clock)."""
    clinic = get_clinic(session)
    tz = ZoneInfo(clinic.timezone)
    kind = get_or_404(session, AppointmentType, appointment_type_id, "appointment type")
    length = timedelta(minutes=kind.minutes)
    providers = [
        p
        for p in list_providers(session, appointment_type_id=appointment_type_id)
        if provider_id is None or p.id == provider_id
    ]
    if not providers or end < start:
        return []
    range_start, _ = day_bounds_utc(start, tz)
    _, range_end = day_bounds_utc(end, tz)
    provider_ids = [p.id for p in providers]
    busy = _booked(session, provider_ids, range_start, range_end, ignore_appointment_id)
    closed = _exceptions(session, provider_ids, start, end, tz)
    templates = _templates(session, provider_ids)
    clinic_hours = {
        day: parse_windows(text) for day, text in (clinic.hours or {}).items() if day in WEEKDAYS
    }

    slots: list[Slot] = []
    day = start
    while day <= end:
        weekday = day.weekday()
        hours = clinic_hours.get(WEEKDAYS[weekday], [])
        for pid in provider_ids:
            windows = intersect(templates.get((pid, weekday), []), hours)
            blocked = closed.get((day, None), []) + closed.get((day, pid), [])
            taken = busy.get(pid, [])
            for w_start, w_end in windows:
                slot_start = local_to_utc(day, w_start, tz)
                window_end = local_to_utc(day, w_end, tz)
                while slot_start + length <= window_end:
                    slot_end = slot_start + length
                    if (
                        slot_start >= now
                        and not _overlaps(slot_start, slot_end, blocked)
                        and not _overlaps(slot_start, slot_end, taken)
                    ):
                        slots.append(
                            Slot(pid, kind.id, slot_start, slot_end, slot_start.astimezone(tz))
                        )
                    slot_start = slot_end
        day += timedelta(days=1)
    slots.sort(key=lambda s: (s.start_utc, s.provider_id))
    return slots[:limit] if limit is not None else slots


def _overlaps(start: datetime, end: datetime, intervals: list[Interval]) -> bool:
    return any(start < b_end and b_start < end for b_start, b_end in intervals)


def _booked(
    session: Session,
    provider_ids: list[str],
    start: datetime,
    end: datetime,
    ignore_id: str | None,
) -> dict[str, list[Interval]]:
    stmt = select(
        Appointment.id, Appointment.provider_id, Appointment.start_utc, Appointment.end_utc
    ).where(
        Appointment.provider_id.in_(provider_ids),
        Appointment.status == "booked",
        Appointment.start_utc < end,
        Appointment.end_utc > start,
    )
    busy: dict[str, list[Interval]] = {}
    for appt_id, pid, a_start, a_end in session.execute(stmt):
        if appt_id != ignore_id:
            busy.setdefault(pid, []).append((a_start, a_end))
    return busy


def _exceptions(
    session: Session, provider_ids: list[str], start: date, end: date, tz: ZoneInfo
) -> dict[tuple[date, str | None], list[Interval]]:
    stmt = select(ScheduleException).where(
        ScheduleException.day >= start,
        ScheduleException.day <= end,
        (ScheduleException.provider_id.is_(None)) | ScheduleException.provider_id.in_(provider_ids),
    )
    closed: dict[tuple[date, str | None], list[Interval]] = {}
    for exc in session.scalars(stmt):
        if exc.start_time is None or exc.end_time is None:
            interval = day_bounds_utc(exc.day, tz)
        else:
            interval = (
                local_to_utc(exc.day, exc.start_time, tz),
                local_to_utc(exc.day, exc.end_time, tz),
            )
        closed.setdefault((exc.day, exc.provider_id), []).append(interval)
    return closed


def _templates(session: Session, provider_ids: list[str]) -> dict[tuple[str, int], list]:
    stmt = select(ProviderSchedule).where(ProviderSchedule.provider_id.in_(provider_ids))
    templates: dict[tuple[str, int], list] = {}
    for row in session.scalars(stmt):
        templates.setdefault((row.provider_id, row.weekday), []).append(
            (row.start_time, row.end_time)
        )
    for windows in templates.values():
        windows.sort()
    return templates


def provider_offers(session: Session, provider_id: str, appointment_type_id: str) -> bool:
    provider = session.get(Provider, provider_id)
    return provider is not None and any(
        t.id == appointment_type_id for t in provider.appointment_types
    )


def ensure_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time")
    return value.astimezone(UTC)
