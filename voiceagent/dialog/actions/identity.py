"""Identity verification: full name and date of birth against the record.

Caller ID is a hint, never proof: it only breaks a tie between equally good matches.
Nothing about a patient is returned to the flow except the first name, once verified.

Guessing is bounded where no flow edit, "start over" or correction can reset it: per call
in the dialog state (not in flow values), and across calls in the database, per calling
number and per patient record that failed checks came close to.
"""

from __future__ import annotations

from datetime import date, timedelta

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.logs import get_logger
from voiceagent.store.blind import normalize_phone
from voiceagent.store.models import Patient
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import identity_failures as failure_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.understanding.entities import PersonName

log = get_logger(__name__)

MIN_NAME_SCORE = 80.0
MAX_FAILURES_PER_CALL = 3
# Across calls, within LOCK_WINDOW: a number or a record with this many failed checks is
# verified by the front desk, not by the phone agent.
MAX_FAILURES_PER_NUMBER = 5
MAX_FAILURES_PER_RECORD = 5
LOCK_WINDOW = timedelta(hours=24)


@action()
def verify_identity(
    ctx: ActionContext, full_name: PersonName, date_of_birth: date
) -> dict[str, object]:
    """``{"status": "verified" | "not_found" | "locked", "first_name": ...}``; sets the
    call's patient. ``locked``: too many failed checks; hand the caller to a person."""
    since = ctx.now - LOCK_WINDOW
    if ctx.state.identity_failures >= MAX_FAILURES_PER_CALL:
        return _locked(ctx, "call")
    if (
        failure_repo.failures_from_number(ctx.session, ctx.caller_number, since=since)
        >= MAX_FAILURES_PER_NUMBER
    ):
        return _locked(ctx, "number")
    candidates = patient_repo.find_patients(
        ctx.session,
        ctx.actor,
        last_name=full_name.last,
        dob=date_of_birth,
        phone=ctx.caller_number,
    )
    patient = _best_match(full_name, candidates, ctx.caller_number)
    if patient is not None and failure_repo.locked_patients(
        ctx.session, [patient.id], since=since, limit=MAX_FAILURES_PER_RECORD
    ):
        return _locked(ctx, "record")
    if patient is None:
        return _failed(ctx, full_name, candidates)
    ctx.state.patient_id = patient.id
    ctx.state.verified = True
    ctx.state.first_name = patient.first_name
    call_repo.link_patient(ctx.session, ctx.actor, ctx.call_sid, patient.id, verified=True)
    return {"status": "verified", "first_name": patient.first_name}


def _best_match(
    full_name: PersonName, candidates: list[Patient], caller_number: str | None
) -> Patient | None:
    matches = patient_repo.match_patient_name(
        full_name.first, full_name.last, candidates, min_score=MIN_NAME_SCORE
    )
    if not matches:
        return None
    tied = [m for m in matches if m.score == matches[0].score]
    if len(tied) == 1:
        return tied[0].patient
    # Two records fit equally well (twins?): caller ID may decide, nothing else.
    on_number = [m for m in tied if caller_number and _same_phone(m.patient.phone, caller_number)]
    return on_number[0].patient if len(on_number) == 1 else None


def _failed(
    ctx: ActionContext, full_name: PersonName, candidates: list[Patient]
) -> dict[str, object]:
    ctx.state.identity_failures += 1
    # The records this check came close to: one name part right on the date of birth said,
    # or on file for the calling number. Guessing at them counts against them.
    near = {
        p.id
        for p in candidates
        if patient_repo.any_part_matches(full_name.first, full_name.last, p, MIN_NAME_SCORE)
    }
    if ctx.caller_number:
        on_number = patient_repo.find_patients(ctx.session, ctx.actor, phone=ctx.caller_number)
        near |= {p.id for p in on_number}
    failure_repo.record_failure(
        ctx.session,
        ctx.actor,
        now=ctx.now,
        call_id=call_repo.call_id_for(ctx.session, ctx.call_sid),
        caller_number=ctx.caller_number,
        near_patient_ids=near,
    )
    if ctx.state.identity_failures >= MAX_FAILURES_PER_CALL:
        return _locked(ctx, "call")
    return {"status": "not_found"}


def _locked(ctx: ActionContext, by: str) -> dict[str, object]:
    """No more checks on this call; staff see why in the handoff (logged without PHI)."""
    ctx.state.identity_failures = max(ctx.state.identity_failures, MAX_FAILURES_PER_CALL)
    log.warning("identity_locked", call_sid=ctx.call_sid, by=by)
    return {"status": "locked", "by": by}


def _same_phone(a: str | None, b: str) -> bool:
    return bool(a) and normalize_phone(a) == normalize_phone(b)
