"""Identity verification: full name and date of birth against the record.

Caller ID is a hint, never proof: it only breaks a tie between equally good matches.
Nothing about a patient is returned to the flow except the first name, once verified.
"""

from __future__ import annotations

from datetime import date

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.understanding.entities import PersonName

MIN_NAME_SCORE = 80.0


@action()
def verify_identity(
    ctx: ActionContext, full_name: PersonName, date_of_birth: date
) -> dict[str, object]:
    """``{"status": "verified" | "not_found", "first_name": ...}``; sets the call's patient."""
    candidates = patient_repo.find_patients(
        ctx.session,
        ctx.actor,
        last_name=full_name.last,
        dob=date_of_birth,
        phone=ctx.caller_number,
    )
    matches = patient_repo.match_patient_name(
        full_name.first, full_name.last, candidates, min_score=MIN_NAME_SCORE
    )
    if not matches:
        return {"status": "not_found"}
    best = matches[0]
    tied = [m for m in matches if m.score == best.score]
    if len(tied) > 1:
        # Two records fit equally well (twins?): caller ID may decide, nothing else.
        on_number = [
            m for m in tied if ctx.caller_number and _same_phone(m.patient.phone, ctx.caller_number)
        ]
        if len(on_number) != 1:
            return {"status": "not_found"}
        best = on_number[0]
    patient = best.patient
    ctx.state.patient_id = patient.id
    ctx.state.verified = True
    ctx.state.first_name = patient.first_name
    call_repo.link_patient(ctx.session, ctx.actor, ctx.call_sid, patient.id, verified=True)
    return {"status": "verified", "first_name": patient.first_name}


def _same_phone(a: str | None, b: str) -> bool:
    from voiceagent.store.blind import normalize_phone

    return bool(a) and normalize_phone(a) == normalize_phone(b)
