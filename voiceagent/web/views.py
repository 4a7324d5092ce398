"""What the staff pages show, loaded through the repositories (so every PHI read is audited
under the staff member's name) and shaped for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.handoff.summary import HandoffSummary
from voiceagent.store import Actor
from voiceagent.store.models import (
    Call,
    Callback,
    InsuranceChangeRequest,
    InsurancePolicy,
    Medication,
    RefillRequest,
    Transfer,
)
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import clinic as clinic_repo
from voiceagent.store.repos import insurance as insurance_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.store.repos import refills as refill_repo
from voiceagent.store.repos import transfers as transfer_repo
from voiceagent.store.repos._common import MAX_AUDITED_IDS

# A page shows at most what one audit entry can name, so every record shown is in the log.
PAGE_SIZE = MAX_AUDITED_IDS

URGENCY_RANK = {"emergency": 0, "urgent": 1, "routine": 2}


@dataclass(frozen=True)
class TransferCard:
    transfer: Transfer
    summary: HandoffSummary
    call_sid: str | None

    @property
    def rank(self) -> int:
        return URGENCY_RANK.get(self.transfer.urgency, 3)


def call_sids(session: Session, call_ids: list[str | None]) -> dict[str, str]:
    """CallSids for call row ids (not PHI: Twilio's identifiers)."""
    wanted = {i for i in call_ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(Call.id, Call.call_sid).where(Call.id.in_(wanted)))
    return {row.id: row.call_sid for row in rows}


def active_transfers(session: Session, actor: Actor) -> list[TransferCard]:
    """The live queue: new and claimed transfers, most urgent first, then newest first."""
    rows = [
        *transfer_repo.list_transfers(session, actor, status="new", limit=PAGE_SIZE),
        *transfer_repo.list_transfers(session, actor, status="claimed", limit=PAGE_SIZE),
    ]
    sids = call_sids(session, [t.call_id for t in rows])
    cards = [
        TransferCard(t, HandoffSummary.from_dict(t.summary or {}), sids.get(t.call_id or ""))
        for t in rows
    ]
    # Newest first, then a stable sort by urgency keeps that order within each level.
    cards.sort(key=lambda c: c.transfer.created_at, reverse=True)
    cards.sort(key=lambda c: c.rank)
    return cards


def patient_names(session: Session, actor: Actor, ids: list[str | None]) -> dict[str, str]:
    names: dict[str, str] = {}
    for patient_id in dict.fromkeys(i for i in ids if i):
        patient = patient_repo.get_patient(session, actor, patient_id)
        names[patient_id] = f"{patient.first_name} {patient.last_name}"
    return names


@dataclass(frozen=True)
class CallbackRow:
    callback: Callback
    call_sid: str | None


def callbacks(
    session: Session,
    actor: Actor,
    *,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[CallbackRow]:
    rows = callback_repo.list_callbacks(
        session, actor, status=status, since=since, until=until, limit=PAGE_SIZE
    )
    sids = call_sids(session, [c.call_id for c in rows])
    return [CallbackRow(c, sids.get(c.call_id or "")) for c in rows]


@dataclass(frozen=True)
class RefillRow:
    request: RefillRequest
    patient: str
    medication: str
    pharmacy: str | None
    controlled: bool
    refills_left: int | None


def _medications(session: Session, actor: Actor, patient_ids: list[str]) -> dict[str, Medication]:
    found: dict[str, Medication] = {}
    for patient_id in dict.fromkeys(patient_ids):
        for med in refill_repo.list_medications(session, actor, patient_id, active_only=False):
            found[med.id] = med
    return found


def refills(
    session: Session,
    actor: Actor,
    *,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[RefillRow]:
    rows = refill_repo.list_refill_requests(
        session, actor, status=status, since=since, until=until, limit=PAGE_SIZE
    )
    names = patient_names(session, actor, [r.patient_id for r in rows])
    meds = _medications(session, actor, [r.patient_id for r in rows])
    pharmacies = {p.id: p.name for p in clinic_repo.list_pharmacies(session)}
    result = []
    for request in rows:
        med = meds.get(request.medication_id or "")
        medication = (
            f"{med.name} {med.dose or ''}".strip()
            if med
            else (request.requested_medication or "(not named)")
        )
        result.append(
            RefillRow(
                request=request,
                patient=names.get(request.patient_id, request.patient_id),
                medication=medication + ("" if med else " (not on file)"),
                pharmacy=pharmacies.get(request.pharmacy_id or ""),
                controlled=bool(med and med.controlled),
                refills_left=med.refills_left if med else None,
            )
        )
    return result


@dataclass(frozen=True)
class InsuranceRow:
    change: InsuranceChangeRequest
    patient: str
    current: InsurancePolicy | None


def insurance_changes(
    session: Session,
    actor: Actor,
    *,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[InsuranceRow]:
    rows = insurance_repo.list_insurance_changes(
        session, actor, status=status, since=since, until=until, limit=PAGE_SIZE
    )
    names = patient_names(session, actor, [c.patient_id for c in rows])
    policies: dict[str, InsurancePolicy] = {}
    for patient_id in dict.fromkeys(c.patient_id for c in rows):
        for policy in insurance_repo.get_insurance(session, actor, patient_id, active_only=False):
            policies[policy.id] = policy
    return [
        InsuranceRow(c, names.get(c.patient_id, c.patient_id), policies.get(c.policy_id or ""))
        for c in rows
    ]
