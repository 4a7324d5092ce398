"""Requests for staff to call back (new patients, messages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import calls as call_repo
from voiceagent.understanding.entities import PersonName


@action()
def new_patient_callback(
    ctx: ActionContext,
    full_name: PersonName,
    date_of_birth: date,
    phone: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A new patient cannot be booked by the agent: staff call back to register them."""
    number = phone or ctx.caller_number
    name = " ".join(p for p in (full_name.first, full_name.last) if p)
    callback = callback_repo.create_callback(
        ctx.session,
        ctx.actor,
        phone=number or "unknown",
        name=name,
        reason=reason or "New patient asking for an appointment",
        note=f"New patient; date of birth given: {date_of_birth.isoformat()}",
        call_id=call_repo.call_id_for(ctx.session, ctx.call_sid),
    )
    return {"id": callback.id}
