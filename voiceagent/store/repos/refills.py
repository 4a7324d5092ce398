"""Medications on file and prescription-refill requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.errors import InvalidTransition, NotFound
from voiceagent.store.models import REFILL_STATUSES, Medication, Patient, RefillRequest
from voiceagent.store.repos._common import audited_list, get_or_404, ids_of
from voiceagent.store.repos.patients import pharmacy_on_file


def list_medications(
    session: Session, actor: Actor, patient_id: str, *, active_only: bool = True
) -> list[Medication]:
    stmt = select(Medication).where(Medication.patient_id == patient_id).order_by(Medication.id)
    if active_only:
        stmt = stmt.where(Medication.active)
    rows = list(session.scalars(stmt))
    audit.record(
        session, actor, "medication.read", "patient", patient_id, count=len(rows), ids=ids_of(rows)
    )
    return rows


def create_refill_request(
    session: Session,
    actor: Actor,
    *,
    patient_id: str,
    medication_id: str | None = None,
    requested_medication: str | None = None,
    pharmacy_id: str | None = None,
    call_id: str | None = None,
    status: str = "pending",
) -> RefillRequest:
    """A refill request for a medication on file (``medication_id``) or, when the caller
    named something not on file, for ``requested_medication`` (free text, encrypted).
    The pharmacy defaults to the patient's preferred one."""
    if status not in REFILL_STATUSES:
        raise ValueError(f"unknown refill status {status!r}")
    get_or_404(session, Patient, patient_id, "patient")
    if medication_id is not None:
        medication = session.get(Medication, medication_id)
        if medication is None or medication.patient_id != patient_id:
            raise NotFound("medication", medication_id)
    if pharmacy_id is None and (pharmacy := pharmacy_on_file(session, patient_id)):
        pharmacy_id = pharmacy.id
    request = RefillRequest(
        patient_id=patient_id,
        medication_id=medication_id,
        requested_medication=requested_medication,
        pharmacy_id=pharmacy_id,
        call_id=call_id,
        status=status,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor,
        "refill.create",
        "refill_request",
        request.id,
        patient_id=patient_id,
        medication_id=medication_id,
        status=status,
    )
    return request


def list_refill_requests(
    session: Session,
    actor: Actor,
    *,
    patient_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[RefillRequest]:
    return audited_list(
        session,
        actor,
        RefillRequest,
        "refill.list",
        "refill_request",
        status=status,
        patient_id=patient_id,
        since=since,
        until=until,
        limit=limit,
    )


def update_refill_request(
    session: Session,
    actor: Actor,
    request_id: str,
    *,
    now: datetime,
    status: str | None = None,
    staff_note: str | None = None,
) -> RefillRequest:
    request = get_or_404(session, RefillRequest, request_id, "refill request")
    if status is not None:
        if status not in REFILL_STATUSES:
            raise ValueError(f"unknown refill status {status!r}")
        if request.status != "pending" and status != request.status:
            raise InvalidTransition(f"refill request {request_id} is already {request.status}")
        if status != request.status:
            request.status = status
            request.decided_by = f"{actor.type}:{actor.id}"
            request.decided_at = now
    if staff_note is not None:
        request.staff_note = staff_note
    session.flush()
    audit.record(
        session,
        actor,
        "refill.update",
        "refill_request",
        request.id,
        patient_id=request.patient_id,
        status=request.status,
        noted=staff_note is not None,
    )
    return request
