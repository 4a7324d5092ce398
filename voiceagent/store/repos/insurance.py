"""Insurance on file and change requests that staff verify before they take effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.errors import InvalidTransition
from voiceagent.store.models import InsuranceChangeRequest, InsurancePolicy, Patient
from voiceagent.store.repos._common import audited_list, get_or_404, ids_of


def get_insurance(
    session: Session, actor: Actor, patient_id: str, *, active_only: bool = True
) -> list[InsurancePolicy]:
    stmt = select(InsurancePolicy).where(InsurancePolicy.patient_id == patient_id)
    if active_only:
        stmt = stmt.where(InsurancePolicy.active)
    rows = list(session.scalars(stmt.order_by(InsurancePolicy.id)))
    audit.record(
        session, actor, "insurance.read", "patient", patient_id, count=len(rows), ids=ids_of(rows)
    )
    return rows


def request_insurance_change(
    session: Session,
    actor: Actor,
    *,
    patient_id: str,
    carrier: str | None,
    member_id: str | None,
    group_number: str | None = None,
    call_id: str | None = None,
) -> InsuranceChangeRequest:
    """Record new insurance details as *pending*: nothing changes until staff verify."""
    get_or_404(session, Patient, patient_id, "patient")
    current = session.scalars(
        select(InsurancePolicy)
        .where(InsurancePolicy.patient_id == patient_id, InsurancePolicy.active)
        .order_by(InsurancePolicy.id)
    ).first()
    change = InsuranceChangeRequest(
        patient_id=patient_id,
        policy_id=current.id if current else None,
        call_id=call_id,
        carrier=carrier,
        member_id=member_id,
        group_number=group_number,
        status="pending",
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor,
        "insurance_change.create",
        "insurance_change",
        change.id,
        patient_id=patient_id,
    )
    return change


def list_insurance_changes(
    session: Session,
    actor: Actor,
    *,
    patient_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[InsuranceChangeRequest]:
    return audited_list(
        session,
        actor,
        InsuranceChangeRequest,
        "insurance_change.list",
        "insurance_change",
        status=status,
        patient_id=patient_id,
        since=since,
        until=until,
        limit=limit,
    )


def decide_insurance_change(
    session: Session,
    actor: Actor,
    change_id: str,
    *,
    status: str,
    now: datetime,
    staff_note: str | None = None,
) -> InsuranceChangeRequest:
    """Staff verify (apply to the policy on file) or reject a pending change."""
    if status not in ("verified", "rejected"):
        raise ValueError("status must be 'verified' or 'rejected'")
    change = get_or_404(session, InsuranceChangeRequest, change_id, "insurance change")
    if change.status != "pending":
        raise InvalidTransition(f"insurance change {change_id} is already {change.status}")
    change.status = status
    change.decided_by = f"{actor.type}:{actor.id}"
    change.decided_at = now
    if staff_note is not None:
        change.staff_note = staff_note
    if status == "verified":
        policy = session.get(InsurancePolicy, change.policy_id) if change.policy_id else None
        if policy is None:
            policy = InsurancePolicy(patient_id=change.patient_id, active=True)
            session.add(policy)
        if change.carrier:
            policy.carrier = change.carrier
        if change.member_id:
            policy.member_id = change.member_id
        if change.group_number is not None:
            policy.group_number = change.group_number
        policy.verified_at = now
        session.flush()
        change.policy_id = policy.id
    session.flush()
    audit.record(
        session,
        actor,
        "insurance_change.decide",
        "insurance_change",
        change.id,
        patient_id=change.patient_id,
        status=status,
        policy_id=change.policy_id,
    )
    return change
