"""Insurance: what is on file (never the full member id), accepted carriers, changes.

A change is recorded as a request pending staff verification; the policy on file is not
touched until a person has checked it.
"""

from __future__ import annotations

from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import insurance as insurance_repo


@action()
def coverage(ctx: ActionContext) -> dict[str, Any] | None:
    patient_id = ctx.require_patient()
    policies = insurance_repo.get_insurance(ctx.session, ctx.actor, patient_id)
    if not policies:
        return None
    policy = policies[0]
    member_id = policy.member_id or ""
    return {"carrier": policy.carrier, "member_id_last4": member_id[-4:]}


@action()
def carrier_accepted(ctx: ActionContext, carrier: str | dict[str, Any]) -> bool:
    name = carrier.get("name", "") if isinstance(carrier, dict) else str(carrier)
    return ctx.clinic.accepts(name)


@action()
def record_insurance_change(
    ctx: ActionContext,
    carrier: str | dict[str, Any],
    member_id: str,
    group_number: str | None = None,
) -> dict[str, Any]:
    patient_id = ctx.require_patient()
    name = carrier.get("name", "") if isinstance(carrier, dict) else str(carrier)
    change = insurance_repo.request_insurance_change(
        ctx.session,
        ctx.actor,
        patient_id=patient_id,
        carrier=name,
        member_id=member_id,
        group_number=group_number,
        call_id=call_repo.call_id_for(ctx.session, ctx.call_sid),
    )
    return {"id": change.id, "status": change.status}
