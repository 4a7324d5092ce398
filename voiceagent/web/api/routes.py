"""The JSON API's read side, for integrations and outside checkers.

Authenticate with ``Authorization: Bearer <token>`` (``voiceagent staff token create``) or
a staff session. Every list takes ``patient_id``, ``since``, ``until`` and ``limit``; every
read goes through the repositories, so it is audited under the token (or staff member).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from voiceagent.store.models import (
    APPOINTMENT_STATUSES,
    CALLBACK_STATUSES,
    INSURANCE_CHANGE_STATUSES,
    REFILL_STATUSES,
    TRANSFER_STATUSES,
    Transfer,
)
from voiceagent.store.repos import appointments as appointment_repo
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import insurance as insurance_repo
from voiceagent.store.repos import refills as refill_repo
from voiceagent.store.repos import transfers as transfer_repo
from voiceagent.web.api import schemas
from voiceagent.web.auth import ApiClient
from voiceagent.web.errors import API_ERRORS, ApiError, ErrorBody
from voiceagent.web.filters import FILTER_HELP, FilterError, choice, date_range
from voiceagent.web.state import WebState, web_state
from voiceagent.web.views import PAGE_SIZE, call_sids

router = APIRouter(prefix="/api", tags=["records"], responses=API_ERRORS)


@dataclass(frozen=True)
class Filters:
    patient_id: str | None
    since: datetime | None
    until: datetime | None
    limit: int

    def repo_args(self) -> dict[str, Any]:
        """The keyword arguments every repository list function takes."""
        return {
            "patient_id": self.patient_id,
            "since": self.since,
            "until": self.until,
            "limit": self.limit,
        }


def filters(
    web: Annotated[WebState, Depends(web_state)],
    patient_id: Annotated[
        str | None, Query(max_length=64, description="Only this patient's records (e.g. p-001)")
    ] = None,
    since: Annotated[str | None, Query(max_length=40, description=FILTER_HELP)] = None,
    until: Annotated[str | None, Query(max_length=40, description=FILTER_HELP)] = None,
    limit: Annotated[
        int, Query(ge=1, le=PAGE_SIZE, description="At most this many, newest first")
    ] = PAGE_SIZE,
) -> Filters:
    try:
        start, stop = date_range(since, until, web.clinic().zone)
    except FilterError as exc:
        raise _invalid(exc) from None
    return Filters(patient_id or None, start, stop, limit)


def _invalid(exc: FilterError) -> ApiError:
    return ApiError(
        422,
        "the request could not be understood",
        fields=[{"field": exc.field, "problem": exc.problem}],
    )


def _status(value: str | None, allowed: tuple[str, ...]) -> str | None:
    try:
        return choice(value, allowed, field="status")
    except FilterError as exc:
        raise _invalid(exc) from None


Filtered = Annotated[Filters, Depends(filters)]
Web = Annotated[WebState, Depends(web_state)]


def _status_query(allowed: tuple[str, ...]) -> object:
    return Query(max_length=16, description=f"One of: {', '.join(allowed)}")


@router.get("/me", response_model=schemas.WhoAmI, summary="Who the credentials belong to")
def whoami(client: ApiClient) -> schemas.WhoAmI:
    return schemas.WhoAmI(kind=client.kind, role=client.role, username=client.username)


@router.get("/calls", response_model=list[schemas.CallOut], summary="Calls, newest first")
def list_calls(
    client: ApiClient,
    web: Web,
    f: Filtered,
    include_transcript: Annotated[
        bool, Query(description="Also decrypt each call's transcript (audited per call)")
    ] = False,
) -> list[schemas.CallOut]:
    with web.db.session() as session:
        calls = call_repo.list_calls(
            session,
            client.actor,
            **f.repo_args(),
        )
        if include_transcript:
            calls = [call_repo.get_call(session, client.actor, c.call_sid) for c in calls]
        return [schemas.CallOut.of(c, transcript=include_transcript) for c in calls]


@router.get(
    "/calls/{call_sid}",
    response_model=schemas.CallDetailOut,
    summary="One call with its transcript",
    responses={404: {"model": ErrorBody, "description": "No such call"}},
)
def get_call(call_sid: str, client: ApiClient, web: Web) -> schemas.CallDetailOut:
    with web.db.session() as session:
        call = call_repo.get_call(session, client.actor, call_sid)
        transfer_ids = list(
            session.scalars(
                select(Transfer.id).where(Transfer.call_id == call.id).order_by(Transfer.created_at)
            )
        )
        transfers = [transfer_repo.get_transfer(session, client.actor, i) for i in transfer_ids]
        base = schemas.CallOut.of(call, transcript=True)
        return schemas.CallDetailOut(
            **base.model_dump(exclude={"transcript"}),
            transcript=base.transcript,
            caller_number=call.caller_number,
            transfers=[
                schemas.CallTransferOut(
                    id=t.id,
                    reason_code=t.reason_code,
                    reason=t.reason,
                    urgency=t.urgency,
                    status=t.status,
                    created_at=t.created_at,
                )
                for t in transfers
            ],
        )


@router.get(
    "/appointments",
    response_model=list[schemas.AppointmentOut],
    summary="Appointments by start time (since/until filter the start)",
)
def list_appointments(
    client: ApiClient,
    web: Web,
    f: Filtered,
    status: Annotated[str | None, _status_query(APPOINTMENT_STATUSES)] = None,
) -> list[schemas.AppointmentOut]:
    wanted = _status(status, APPOINTMENT_STATUSES)
    with web.db.session() as session:
        rows = appointment_repo.list_appointments(
            session,
            client.actor,
            status=wanted,
            **f.repo_args(),
        )
        return [schemas.AppointmentOut.of(a) for a in rows]


@router.get("/refill-requests", response_model=list[schemas.RefillOut], summary="Refill requests")
def list_refill_requests(
    client: ApiClient,
    web: Web,
    f: Filtered,
    status: Annotated[str | None, _status_query(REFILL_STATUSES)] = None,
) -> list[schemas.RefillOut]:
    wanted = _status(status, REFILL_STATUSES)
    with web.db.session() as session:
        rows = refill_repo.list_refill_requests(
            session,
            client.actor,
            status=wanted,
            **f.repo_args(),
        )
        meds: dict[str, tuple[str, str | None]] = {}
        for patient_id in dict.fromkeys(r.patient_id for r in rows if r.medication_id):
            for med in refill_repo.list_medications(
                session, client.actor, patient_id, active_only=False
            ):
                meds[med.id] = (med.name or "", med.dose)
        return [schemas.RefillOut.of(r, meds.get(r.medication_id or "")) for r in rows]


@router.get(
    "/insurance-changes",
    response_model=list[schemas.InsuranceChangeOut],
    summary="Insurance change requests",
)
def list_insurance_changes(
    client: ApiClient,
    web: Web,
    f: Filtered,
    status: Annotated[str | None, _status_query(INSURANCE_CHANGE_STATUSES)] = None,
) -> list[schemas.InsuranceChangeOut]:
    wanted = _status(status, INSURANCE_CHANGE_STATUSES)
    with web.db.session() as session:
        rows = insurance_repo.list_insurance_changes(
            session,
            client.actor,
            status=wanted,
            **f.repo_args(),
        )
        return [schemas.InsuranceChangeOut.of(c) for c in rows]


@router.get(
    "/transfers",
    response_model=list[schemas.TransferOut],
    summary="Handoffs to staff, with their summaries",
)
def list_transfers(
    client: ApiClient,
    web: Web,
    f: Filtered,
    status: Annotated[str | None, _status_query(TRANSFER_STATUSES)] = None,
) -> list[schemas.TransferOut]:
    wanted = _status(status, TRANSFER_STATUSES)
    with web.db.session() as session:
        rows = transfer_repo.list_transfers(
            session,
            client.actor,
            status=wanted,
            **f.repo_args(),
        )
        sids = call_sids(session, [t.call_id for t in rows])
        return [schemas.TransferOut.of(t, sids.get(t.call_id or "")) for t in rows]


@router.get("/callbacks", response_model=list[schemas.CallbackOut], summary="Callback requests")
def list_callbacks(
    client: ApiClient,
    web: Web,
    f: Filtered,
    status: Annotated[str | None, _status_query(CALLBACK_STATUSES)] = None,
) -> list[schemas.CallbackOut]:
    wanted = _status(status, CALLBACK_STATUSES)
    with web.db.session() as session:
        rows = callback_repo.list_callbacks(
            session,
            client.actor,
            status=wanted,
            **f.repo_args(),
        )
        sids = call_sids(session, [c.call_id for c in rows])
        return [schemas.CallbackOut.of(c, sids.get(c.call_id or "")) for c in rows]
