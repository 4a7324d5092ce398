"""Conversation scripts: what a caller says, what the agent must answer, what the database
holds afterwards. They test flows at text level (fast, no audio) against a real database,
and the same scripts can be turned into audio scenarios for ``voiceagent simulate``.

    name: Maria refills her lisinopril
    caller_id: "+15551234567"
    now: 2026-11-23T10:00          # clinic local time
    turns:
      - agent: how can i help
      - caller: I need a refill on my blood pressure medicine
        agent: first and last name
      - dtmf: "03031982"
        agent: ...
    expect:
      call: {intent: refill_request, outcome: refill_requested}
      refill_requests: [{medication: lisinopril, status: pending}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from voiceagent.dialog.base import Dialog, Hangup, Reply, Transfer, Utterance
from voiceagent.store import Actor, Database
from voiceagent.store.models import (
    Appointment,
    Call,
    Callback,
    InsuranceChangeRequest,
    Medication,
    RefillRequest,
)
from voiceagent.store.models import Transfer as TransferRow
from voiceagent.store.repos import calls as call_repo

DEFAULT_NOW = datetime(2026, 11, 23, 10, 0)  # a Monday morning, clinic local time


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Model):
    caller: str | None = None
    dtmf: str | None = Field(None, pattern=r"^[0-9*#]+$")
    silence: bool = False
    confidence: float = Field(0.92, ge=0, le=1)
    agent: str | None = None  # regex the agent's reply must match (case-insensitive)
    agent_not: str | None = None  # regex it must not match
    action: Literal["none", "hangup", "transfer"] | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Turn:
        inputs = sum(x is not None for x in (self.caller, self.dtmf)) + int(self.silence)
        if inputs > 1:
            raise ValueError("a turn has at most one of caller, dtmf, silence")
        return self


class ExpectedCall(_Model):
    intent: str | None = None
    outcome: str | None = None
    transferred: bool | None = None
    patient: str | None = None
    verified: bool | None = None


class ExpectedTransfer(_Model):
    reason_code: str
    urgency: str | None = None
    details: dict[str, str] = Field(default_factory=dict)  # summary details that must appear


class ExpectedRefill(_Model):
    medication: str
    status: str = "pending"


class Expectations(_Model):
    call: ExpectedCall | None = None
    transfers: list[ExpectedTransfer] | None = None
    callbacks: int | None = None
    refill_requests: list[ExpectedRefill] | None = None
    appointments_booked: int | None = None
    appointments_cancelled: int | None = None
    insurance_changes: int | None = None


class Conversation(_Model):
    name: str
    caller_id: str | None = "+15551234567"
    now: datetime = DEFAULT_NOW
    turns: list[Turn]
    expect: Expectations = Field(default_factory=Expectations)
    audio: bool = False  # also run through audio (voiceagent simulate)


def load_conversation(path: Path) -> Conversation:
    return Conversation.model_validate(yaml.safe_load(path.read_text()))


@dataclass
class ConversationResult:
    name: str
    call_sid: str
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the dialog, for a failing test's report

    @property
    def passed(self) -> bool:
        return not self.failures


def run_conversation(
    conversation: Conversation,
    db: Database,
    make_dialog: Callable[[str], Dialog],
    *,
    now: datetime,
    call_sid: str = "CA" + "0" * 32,
) -> ConversationResult:
    """Play the script against a dialog; check every reply and then the database.

    ``now`` is the dialog's clock when the call starts (the clinic's pinned day)."""
    result = ConversationResult(conversation.name, call_sid)
    with db.session() as session:
        call_repo.open_call(
            session,
            Actor.system("conversation-test"),
            call_sid=call_sid,
            caller_number=conversation.caller_id,
            started_at=now,
        )
    dialog = make_dialog(call_sid)
    last: Reply | None = None
    for number, turn in enumerate(conversation.turns, 1):
        if last is not None and last.action is not None and (turn.caller or turn.dtmf):
            result.failures.append(f"turn {number}: the call already ended ({_kind(last)})")
            break
        if turn.caller is not None:
            result.lines.append(f"CALLER: {turn.caller}")
            reply = dialog.on_utterance(
                Utterance(text=turn.caller, confidence=turn.confidence, audio_ms=1500)
            )
        elif turn.dtmf is not None:
            result.lines.append(f"CALLER: (keys {turn.dtmf})")
            reply = dialog.on_dtmf(turn.dtmf)
        elif turn.silence:
            result.lines.append("CALLER: (silence)")
            reply = dialog.on_silence()
        else:
            reply = dialog.greet()
        said = " ".join(reply.say)
        result.lines.append(f"AGENT: {said}" + (f"  [{_kind(reply)}]" if reply.action else ""))
        if turn.agent and not re.search(turn.agent, said, re.IGNORECASE):
            result.failures.append(f"turn {number}: agent said {said!r}, expected /{turn.agent}/")
        if turn.agent_not and re.search(turn.agent_not, said, re.IGNORECASE):
            result.failures.append(
                f"turn {number}: agent said {said!r}, must not match /{turn.agent_not}/"
            )
        if turn.action is not None and _kind(reply) != turn.action:
            result.failures.append(f"turn {number}: expected {turn.action}, got {_kind(reply)}")
        last = reply
    dialog.on_hangup()
    result.failures += check_database(conversation.expect, db, call_sid)
    return result


def _kind(reply: Reply) -> str:
    if isinstance(reply.action, Transfer):
        return "transfer"
    if isinstance(reply.action, Hangup):
        return "hangup"
    return "none"


def check_database(expect: Expectations, db: Database, call_sid: str) -> list[str]:
    """What the call left in the database, against the script's expectations."""
    failures: list[str] = []
    with db.session() as session:
        call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one()

        def rows(model: Any) -> list[Any]:
            return list(session.scalars(select(model).where(model.call_id == call.id)))

        if expect.call is not None:
            for key, wanted in expect.call.model_dump(exclude_none=True).items():
                actual = call.patient_id if key == "patient" else getattr(call, key)
                if actual != wanted:
                    failures.append(f"call.{key} is {actual!r}, expected {wanted!r}")
        if expect.transfers is not None:
            transfers = rows(TransferRow)
            got = [(t.reason_code, t.urgency) for t in transfers]
            if len(transfers) != len(expect.transfers):
                failures.append(f"transfers {got}, expected {len(expect.transfers)}")
            for wanted, row in zip(expect.transfers, transfers, strict=False):
                if row.reason_code != wanted.reason_code or (
                    wanted.urgency and row.urgency != wanted.urgency
                ):
                    failures.append(
                        f"transfer {(row.reason_code, row.urgency)}, expected "
                        f"{(wanted.reason_code, wanted.urgency)}"
                    )
                details = (row.summary or {}).get("details", {})
                for name, pattern in wanted.details.items():
                    if not re.search(pattern, str(details.get(name, "")), re.IGNORECASE):
                        failures.append(
                            f"transfer summary detail {name!r} does not match /{pattern}/"
                        )
        if expect.callbacks is not None and len(rows(Callback)) != expect.callbacks:
            failures.append(f"{len(rows(Callback))} callbacks, expected {expect.callbacks}")
        if expect.refill_requests is not None:
            refills = rows(RefillRequest)
            got = []
            for r in refills:
                medication = session.get(Medication, r.medication_id) if r.medication_id else None
                got.append((medication.name if medication else r.requested_medication, r.status))
            wanted = [(w.medication, w.status) for w in expect.refill_requests]
            if sorted(got) != sorted(wanted):
                failures.append(f"refill requests {got}, expected {wanted}")
        if expect.appointments_booked is not None:
            booked = [a for a in rows(Appointment) if a.status == "booked"]
            if len(booked) != expect.appointments_booked:
                failures.append(
                    f"{len(booked)} appointments booked on this call, expected "
                    f"{expect.appointments_booked}"
                )
        if expect.appointments_cancelled is not None:
            cancelled = _cancelled_during(session, call)
            if cancelled != expect.appointments_cancelled:
                failures.append(
                    f"{cancelled} appointments cancelled, expected {expect.appointments_cancelled}"
                )
        if expect.insurance_changes is not None:
            changes = rows(InsuranceChangeRequest)
            if len(changes) != expect.insurance_changes:
                failures.append(
                    f"{len(changes)} insurance changes, expected {expect.insurance_changes}"
                )
    return failures


def _cancelled_during(session: Any, call: Call) -> int:
    stmt = select(Appointment).where(
        Appointment.status == "cancelled", Appointment.cancelled_at >= call.started_at
    )
    return len(list(session.scalars(stmt)))
