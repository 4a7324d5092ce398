"""Book, reschedule and cancel appointments; a slot can never be double-booked.

The guarantee comes from the database, not from a check: every booked appointment owns
rows in ``appointment_blocks`` (primary key provider + 5-minute block start), and a
partial unique index covers (provider, start) among booked appointments. Two bookings
racing for one slot (or for overlapping slots) both pass the schedule check, both try to
insert, and exactly one insert wins; the loser gets :class:`SlotTaken`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.errors import InvalidTransition, SlotTaken, SlotUnavailable
from voiceagent.store.models import (
    BLOCK_MINUTES,
    Appointment,
    AppointmentBlock,
    AppointmentType,
    Patient,
)
from voiceagent.store.repos._common import get_or_404, ids_of, in_range
from voiceagent.store.repos.clinic import get_clinic
from voiceagent.store.repos.slots import ensure_utc, open_slots, provider_offers


def block_starts(start_utc: datetime, end_utc: datetime) -> list[datetime]:
    step = timedelta(minutes=BLOCK_MINUTES)
    count = int((end_utc - start_utc) / step)
    return [start_utc + i * step for i in range(count)]


def _check_grid(start_utc: datetime) -> None:
    if start_utc.minute % BLOCK_MINUTES or start_utc.second or start_utc.microsecond:
        raise SlotUnavailable(f"appointments start on a {BLOCK_MINUTES}-minute grid")


def _check_opening(
    session: Session,
    provider_id: str,
    kind: AppointmentType,
    start_utc: datetime,
    now: datetime,
    ignore_appointment_id: str | None = None,
) -> None:
    if not provider_offers(session, provider_id, kind.id):
        raise SlotUnavailable(f"{provider_id} does not offer {kind.id} appointments")
    tz = ZoneInfo(get_clinic(session).timezone)
    day = start_utc.astimezone(tz).date()
    slots = open_slots(
        session,
        appointment_type_id=kind.id,
        start=day,
        end=day,
        provider_id=provider_id,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
    )
    if any(s.start_utc == start_utc for s in slots):
        return
    end_utc = start_utc + timedelta(minutes=kind.minutes)
    clash = session.scalar(
        select(Appointment.id).where(
            Appointment.provider_id == provider_id,
            Appointment.status == "booked",
            Appointment.start_utc < end_utc,
            Appointment.end_utc > start_utc,
            Appointment.id != (ignore_appointment_id or ""),
        )
    )
    if clash is not None:
        raise SlotTaken(provider_id, start_utc)
    raise SlotUnavailable(
        f"{start_utc.isoformat()} is not an open {kind.id} slot for {provider_id} "
        "(outside the schedule, blocked, in the past, or off the slot grid)"
    )


def _occupy(session: Session, appointment: Appointment) -> None:
    """Write the appointment and its blocks in a savepoint; a unique clash is SlotTaken."""
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
            session.add_all(
                AppointmentBlock(
                    provider_id=appointment.provider_id, start_utc=t, appointment_id=appointment.id
                )
                for t in block_starts(appointment.start_utc, appointment.end_utc)
            )
    except IntegrityError:
        raise SlotTaken(appointment.provider_id, appointment.start_utc) from None


def book_appointment(
    session: Session,
    actor: Actor,
    *,
    patient_id: str,
    provider_id: str,
    appointment_type_id: str,
    start_utc: datetime,
    now: datetime,
    call_id: str | None = None,
    reason: str | None = None,
    source: str | None = None,
    check_schedule: bool = True,
    appointment_id: str | None = None,
) -> Appointment:
    """Book one slot. Raises SlotTaken (someone holds it) or SlotUnavailable (no opening).

    ``check_schedule=False`` (seeding, staff overrides) skips the template check but never
    the double-booking guarantee. ``now`` (the runtime's clock) decides what is past.
    """
    start_utc = ensure_utc(start_utc)
    _check_grid(start_utc)
    get_or_404(session, Patient, patient_id, "patient")
    kind = get_or_404(session, AppointmentType, appointment_type_id, "appointment type")
    if check_schedule:
        _check_opening(session, provider_id, kind, start_utc, now)
    appointment = Appointment(
        patient_id=patient_id,
        provider_id=provider_id,
        appointment_type_id=kind.id,
        start_utc=start_utc,
        end_utc=start_utc + timedelta(minutes=kind.minutes),
        status="booked",
        source=source or actor.type,
        call_id=call_id,
        reason=reason,
    )
    if appointment_id:
        appointment.id = appointment_id
    _occupy(session, appointment)
    audit.record(
        session,
        actor,
        "appointment.book",
        "appointment",
        appointment.id,
        patient_id=patient_id,
        provider_id=provider_id,
    )
    return appointment


def reschedule_appointment(
    session: Session,
    actor: Actor,
    appointment_id: str,
    *,
    start_utc: datetime,
    now: datetime,
    provider_id: str | None = None,
    check_schedule: bool = True,
) -> Appointment:
    """Move a booked appointment; on SlotTaken/SlotUnavailable it stays where it was."""
    start_utc = ensure_utc(start_utc)
    _check_grid(start_utc)
    appointment = get_or_404(session, Appointment, appointment_id, "appointment")
    if appointment.status != "booked":
        raise InvalidTransition(f"appointment {appointment_id} is {appointment.status}")
    provider_id = provider_id or appointment.provider_id
    kind = get_or_404(session, AppointmentType, appointment.appointment_type_id, "appointment type")
    if check_schedule:
        _check_opening(
            session, provider_id, kind, start_utc, now, ignore_appointment_id=appointment.id
        )
    old_provider = appointment.provider_id
    try:
        with session.begin_nested():
            session.execute(
                delete(AppointmentBlock).where(AppointmentBlock.appointment_id == appointment.id)
            )
            appointment.provider_id = provider_id
            appointment.start_utc = start_utc
            appointment.end_utc = start_utc + timedelta(minutes=kind.minutes)
            session.flush()
            session.add_all(
                AppointmentBlock(
                    provider_id=provider_id, start_utc=t, appointment_id=appointment.id
                )
                for t in block_starts(appointment.start_utc, appointment.end_utc)
            )
    except IntegrityError:
        session.refresh(appointment)  # the savepoint rolled back; show the old time again
        raise SlotTaken(provider_id, start_utc) from None
    audit.record(
        session,
        actor,
        "appointment.reschedule",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        provider_id=provider_id,
        previous_provider_id=old_provider,
    )
    return appointment


def cancel_appointment(
    session: Session,
    actor: Actor,
    appointment_id: str,
    *,
    now: datetime,
    reason_code: str | None = None,
) -> Appointment:
    appointment = get_or_404(session, Appointment, appointment_id, "appointment")
    if appointment.status != "booked":
        raise InvalidTransition(f"appointment {appointment_id} is {appointment.status}")
    appointment.status = "cancelled"
    appointment.cancelled_at = now
    session.execute(
        delete(AppointmentBlock).where(AppointmentBlock.appointment_id == appointment.id)
    )
    session.flush()
    audit.record(
        session,
        actor,
        "appointment.cancel",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        reason_code=reason_code,
    )
    return appointment


def get_appointment(session: Session, actor: Actor, appointment_id: str) -> Appointment:
    appointment = get_or_404(session, Appointment, appointment_id, "appointment")
    audit.record(
        session,
        actor,
        "appointment.read",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
    )
    return appointment


def next_appointment(
    session: Session, actor: Actor, patient_id: str, *, now: datetime
) -> Appointment | None:
    stmt = (
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == "booked",
            Appointment.start_utc >= now,
        )
        .order_by(Appointment.start_utc)
        .limit(1)
    )
    appointment = session.scalars(stmt).first()
    audit.record(
        session,
        actor,
        "appointment.next",
        "patient",
        patient_id,
        appointment_id=appointment.id if appointment else None,
    )
    return appointment


def list_appointments(
    session: Session,
    actor: Actor,
    *,
    patient_id: str | None = None,
    provider_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[Appointment]:
    stmt = select(Appointment).order_by(Appointment.start_utc).limit(limit)
    if patient_id is not None:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if provider_id is not None:
        stmt = stmt.where(Appointment.provider_id == provider_id)
    if status is not None:
        stmt = stmt.where(Appointment.status == status)
    stmt = in_range(stmt, Appointment.start_utc, since, until)
    rows = list(session.scalars(stmt))
    audit.record(
        session,
        actor,
        "appointment.list",
        "appointment",
        None,
        patient_id=patient_id,
        count=len(rows),
        ids=ids_of(rows),
    )
    return rows
