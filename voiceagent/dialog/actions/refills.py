"""Prescription refills: the patient's own medication list, the pharmacy, the request.

The agent never approves anything: it files a request for clinician review. Controlled
substances, medications with no refills left and anything not on the list go to staff
(the flow decides that from what these actions return).
"""

from __future__ import annotations

from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.store.repos import refills as refill_repo


@action()
def medications(ctx: ActionContext) -> list[dict[str, Any]]:
    """The verified patient's active medications (names resolve what the caller says)."""
    patient_id = ctx.require_patient()
    rows = refill_repo.list_medications(ctx.session, ctx.actor, patient_id)
    return [
        {
            "id": m.id,
            "name": m.name,
            "refills_left": m.refills_left,
            "controlled": m.controlled,
        }
        for m in rows
    ]


@action()
def pharmacy_on_file(ctx: ActionContext) -> dict[str, Any] | None:
    patient_id = ctx.require_patient()
    pharmacy = patient_repo.preferred_pharmacy(ctx.session, ctx.actor, patient_id)
    return {"id": pharmacy.id, "name": pharmacy.name} if pharmacy else None


@action()
def request_refill(
    ctx: ActionContext, medication: dict[str, Any], pharmacy: dict[str, Any] | None
) -> dict[str, Any]:
    patient_id = ctx.require_patient()
    request = refill_repo.create_refill_request(
        ctx.session,
        ctx.actor,
        patient_id=patient_id,
        medication_id=medication["id"],
        pharmacy_id=pharmacy["id"] if pharmacy else None,
        call_id=call_repo.call_id_for(ctx.session, ctx.call_sid),
    )
    return {"id": request.id, "status": request.status}
