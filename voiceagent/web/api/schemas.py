"""JSON shapes of the API (they are also its OpenAPI schema). Times are ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from voiceagent.store.models import (
    ApiToken,
    Appointment,
    Call,
    Callback,
    CallTurn,
    InsuranceChangeRequest,
    RefillRequest,
    StaffUser,
    Transfer,
)


class TurnOut(BaseModel):
    seq: int
    speaker: str = Field(description="caller or agent")
    text: str
    at: datetime
    intent: str | None = None
    asr_confidence: float | None = None
    response_gap_ms: int | None = Field(
        None, description="Agent turns: caller's last speech to the agent's first audio"
    )

    @classmethod
    def of(cls, turn: CallTurn) -> TurnOut:
        return cls(
            seq=turn.seq,
            speaker=turn.speaker,
            text=turn.text or "",
            at=turn.at,
            intent=turn.intent,
            asr_confidence=turn.asr_confidence,
            response_gap_ms=turn.response_gap_ms,
        )


class CallTransferOut(BaseModel):
    id: str
    reason_code: str
    reason: str | None
    urgency: str
    status: str
    created_at: datetime


class CallOut(BaseModel):
    call_sid: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    outcome: str | None
    intent: str | None
    transferred: bool
    reason: str | None = Field(description="Why the call went to a person (a reason code)")
    patient_id: str | None
    verified: bool
    turn_count: int
    greeting_ms: int | None
    gap_p50_ms: int | None
    gap_p95_ms: int | None
    gap_max_ms: int | None
    transcript: list[TurnOut] | None = Field(
        None, description="On /api/calls/{call_sid}, or on the list with include_transcript"
    )

    @classmethod
    def of(cls, call: Call, *, transcript: bool = False) -> CallOut:
        return cls(
            call_sid=call.call_sid,
            started_at=call.started_at,
            ended_at=call.ended_at,
            status=call.status,
            outcome=call.outcome,
            intent=call.intent,
            transferred=call.transferred,
            reason=call.transfer_reason,
            patient_id=call.patient_id,
            verified=call.verified,
            turn_count=call.turn_count,
            greeting_ms=call.greeting_ms,
            gap_p50_ms=call.gap_p50_ms,
            gap_p95_ms=call.gap_p95_ms,
            gap_max_ms=call.gap_max_ms,
            transcript=[TurnOut.of(t) for t in call.turns] if transcript else None,
        )


class CallDetailOut(CallOut):
    caller_number: str | None
    transfers: list[CallTransferOut]


class AppointmentOut(BaseModel):
    id: str
    patient_id: str
    provider_id: str
    appointment_type_id: str
    start: datetime
    end: datetime
    status: str
    source: str
    call_id: str | None
    reason: str | None
    created_at: datetime
    cancelled_at: datetime | None

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            provider_id=a.provider_id,
            appointment_type_id=a.appointment_type_id,
            start=a.start_utc,
            end=a.end_utc,
            status=a.status,
            source=a.source,
            call_id=a.call_id,
            reason=a.reason,
            created_at=a.created_at,
            cancelled_at=a.cancelled_at,
        )


class RefillOut(BaseModel):
    id: str
    patient_id: str
    medication_id: str | None
    medication: str | None = Field(description="The medication on file, or what the caller named")
    dose: str | None
    on_file: bool
    pharmacy_id: str | None
    status: str
    call_id: str | None
    staff_note: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: RefillRequest, medication: tuple[str, str | None] | None) -> RefillOut:
        return cls(
            id=r.id,
            patient_id=r.patient_id,
            medication_id=r.medication_id,
            medication=medication[0] if medication else r.requested_medication,
            dose=medication[1] if medication else None,
            on_file=medication is not None,
            pharmacy_id=r.pharmacy_id,
            status=r.status,
            call_id=r.call_id,
            staff_note=r.staff_note,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            created_at=r.created_at,
        )


class InsuranceChangeOut(BaseModel):
    id: str
    patient_id: str
    policy_id: str | None
    call_id: str | None
    carrier: str | None
    member_id: str | None
    group_number: str | None
    status: str
    staff_note: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: InsuranceChangeRequest) -> InsuranceChangeOut:
        return cls(
            id=c.id,
            patient_id=c.patient_id,
            policy_id=c.policy_id,
            call_id=c.call_id,
            carrier=c.carrier,
            member_id=c.member_id,
            group_number=c.group_number,
            status=c.status,
            staff_note=c.staff_note,
            decided_by=c.decided_by,
            decided_at=c.decided_at,
            created_at=c.created_at,
        )


class TransferOut(BaseModel):
    id: str
    call_id: str | None
    call_sid: str | None
    patient_id: str | None
    reason_code: str
    reason: str | None
    urgency: str = Field(description="routine, urgent or emergency")
    status: str = Field(description="new, claimed, done or failed")
    claimed_by: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    summary: dict[str, Any] | None = Field(
        description="Caller, patient (verified or not), intent, details, reason, urgency, "
        "the last turns and the suggested next step"
    )

    @classmethod
    def of(cls, t: Transfer, call_sid: str | None) -> TransferOut:
        return cls(
            id=t.id,
            call_id=t.call_id,
            call_sid=call_sid,
            patient_id=t.patient_id,
            reason_code=t.reason_code,
            reason=t.reason,
            urgency=t.urgency,
            status=t.status,
            claimed_by=t.claimed_by,
            created_at=t.created_at,
            claimed_at=t.claimed_at,
            completed_at=t.completed_at,
            summary=t.summary,
        )


class CallbackOut(BaseModel):
    id: str
    patient_id: str | None
    call_id: str | None
    call_sid: str | None
    name: str | None
    phone: str | None
    reason: str | None
    note: str | None
    status: str
    created_at: datetime
    done_at: datetime | None
    done_by: str | None

    @classmethod
    def of(cls, c: Callback, call_sid: str | None) -> CallbackOut:
        return cls(
            id=c.id,
            patient_id=c.patient_id,
            call_id=c.call_id,
            call_sid=call_sid,
            name=c.name,
            phone=c.phone,
            reason=c.reason,
            note=c.note,
            status=c.status,
            created_at=c.created_at,
            done_at=c.done_at,
            done_by=c.done_by,
        )


class WhoAmI(BaseModel):
    kind: str = Field(description="api (a bearer token) or staff (a dashboard session)")
    role: str
    username: str | None


class StaffUserOut(BaseModel):
    id: str
    username: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: StaffUser) -> StaffUserOut:
        return cls(
            id=u.id,
            username=u.username,
            role=u.role,
            active=u.active,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
        )


class TokenOut(BaseModel):
    id: str
    name: str | None
    role: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            role=t.role,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )


class FlowFileOut(BaseModel):
    name: str
    version: int | None
    author: str | None
    updated_at: datetime | None
