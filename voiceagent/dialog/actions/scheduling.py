"""Appointments: finding open slots, booking, moving and cancelling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.dialog.templates import spoken_datetime
from voiceagent.store import SlotTaken
from voiceagent.store.models import Appointment
from voiceagent.store.repos import appointments as appointment_repo
from voiceagent.store.repos import slots as slot_repo
from voiceagent.understanding.entities import TimePreference

SEARCH_DAYS = 21  # how far ahead to look when the caller has no date in mind
MAX_OFFERS = 3
# Offers spread out so "any of these" is a real choice, not three back-to-back slots.
MIN_OFFER_SPACING = timedelta(hours=2)


@action()
def find_slots(
    ctx: ActionContext,
    appointment_type: dict[str, Any],
    provider: dict[str, Any] | None = None,
    when: TimePreference | None = None,
    exclude: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Up to three open slots that fit the caller's preference, spread out in time."""
    today = ctx.now.date()
    start = max(today, when.earliest) if when and when.earliest else today
    end = when.latest if when and when.latest else start + timedelta(days=SEARCH_DAYS)
    if end < start:
        end = start
    slots = slot_repo.open_slots(
        ctx.session,
        appointment_type_id=str(appointment_type["id"]),
        start=start,
        end=end,
        provider_id=str(provider["id"]) if provider else None,
        now=ctx.now,
        ignore_appointment_id=exclude.get("id") if exclude else None,
    )
    offers: list[dict[str, Any]] = []
    for slot in slots:
        if when is not None and not when.admits(slot.start_local):
            continue
        if any(abs(slot.start_local - o["start"]) < MIN_OFFER_SPACING for o in offers):
            continue
        offers.append(_offer(ctx, slot))
        if len(offers) == MAX_OFFERS:
            break
    return offers


def _offer(ctx: ActionContext, slot: slot_repo.Slot) -> dict[str, Any]:
    provider = next((p for p in ctx.clinic.providers if p["id"] == slot.provider_id), None)
    provider_name = str(provider["name"]) if provider else slot.provider_id
    return {
        "start": slot.start_local,
        "start_utc": slot.start_utc,
        "provider_id": slot.provider_id,
        "provider_name": provider_name,
        "appointment_type_id": slot.appointment_type_id,
        "label": f"{spoken_datetime(slot.start_local)} with {provider_name}",
    }


@action()
def book_appointment(
    ctx: ActionContext, slot: dict[str, Any], reason: str | None = None
) -> dict[str, Any]:
    """Book the chosen slot; ``{"status": "taken"}`` if someone else just took it."""
    patient_id = ctx.require_patient()
    try:
        appointment = appointment_repo.book_appointment(
            ctx.session,
            ctx.actor,
            patient_id=patient_id,
            provider_id=slot["provider_id"],
            appointment_type_id=slot["appointment_type_id"],
            start_utc=slot["start_utc"],
            now=ctx.now,
            call_id=_call_id(ctx),
            reason=reason,
            source="agent",
        )
    except SlotTaken:
        return {"status": "taken"}
    return {"status": "booked", **_describe(ctx, appointment)}


@action()
def upcoming_appointments(ctx: ActionContext) -> list[dict[str, Any]]:
    patient_id = ctx.require_patient()
    rows = appointment_repo.list_appointments(
        ctx.session, ctx.actor, patient_id=patient_id, status="booked", since=ctx.now, limit=5
    )
    return [_describe(ctx, a) for a in rows]


@action()
def cancel_appointment(ctx: ActionContext, appointment: dict[str, Any]) -> dict[str, Any]:
    ctx.require_patient()
    appointment_repo.cancel_appointment(ctx.session, ctx.actor, appointment["id"], now=ctx.now)
    return {"status": "cancelled"}


@action()
def reschedule_appointment(
    ctx: ActionContext, appointment: dict[str, Any], slot: dict[str, Any]
) -> dict[str, Any]:
    ctx.require_patient()
    try:
        moved = appointment_repo.reschedule_appointment(
            ctx.session,
            ctx.actor,
            appointment["id"],
            start_utc=slot["start_utc"],
            now=ctx.now,
            provider_id=slot["provider_id"],
        )
    except SlotTaken:
        return {"status": "taken"}
    return {"status": "rescheduled", **_describe(ctx, moved)}


def _describe(ctx: ActionContext, appointment: Appointment) -> dict[str, Any]:
    start = appointment.start_utc.astimezone(ctx.clinic.timezone)
    type_name = appointment.appointment_type.name
    provider_name = appointment.provider.name
    return {
        "id": appointment.id,
        "start": start,
        "provider_id": appointment.provider_id,
        "provider_name": provider_name,
        "appointment_type_id": appointment.appointment_type_id,
        "type_name": type_name,
        "label": f"{type_name.lower()} on {spoken_datetime(start)} with {provider_name}",
    }


def _call_id(ctx: ActionContext) -> str | None:
    from voiceagent.store.repos import calls as call_repo

    return call_repo.call_id_for(ctx.session, ctx.call_sid)
