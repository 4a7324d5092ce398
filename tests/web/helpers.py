"""Shared by the web and browser tests: staff accounts, sign-in over HTTP, and records made
through the real repositories (what calls would have left behind)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from voiceagent.clock import system_clock
from voiceagent.handoff.summary import build_summary
from voiceagent.store import Actor, Database
from voiceagent.store.models import AuditEntry
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import insurance as insurance_repo
from voiceagent.store.repos import refills as refill_repo
from voiceagent.store.repos import staff as staff_repo
from voiceagent.store.repos import transfers as transfer_repo

TESTS = Actor.system("tests")
PASSWORD = "correct horse battery staple"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def add_user(db: Database, username: str, role: str = "staff", password: str = PASSWORD) -> str:
    with db.session() as session:
        return staff_repo.create_user(
            session, TESTS, username=username, password=password, role=role
        ).id


def login_token(html: str) -> str:
    match = _LOGIN_TOKEN.search(html)
    assert match, "the sign-in page has no form token"
    return match.group(1)


def csrf_of(html: str) -> str:
    match = _CSRF_META.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(
    client: httpx.Client, username: str, password: str = PASSWORD, *, next_path: str = "/staff"
) -> httpx.Response:
    """Fill in the sign-in form as a browser would (the form's token comes with it)."""
    form = client.get("/staff/login")
    assert form.status_code == 200
    return client.post(
        "/staff/login",
        data={
            "username": username,
            "password": password,
            "login_token": login_token(form.text),
            "next": next_path,
        },
        follow_redirects=False,
    )


def signed_in(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Sign in and return the CSRF token of the dashboard."""
    response = sign_in(client, username, password)
    assert response.status_code == 303, response.text[:300]
    page = client.get("/staff")
    assert page.status_code == 200
    return csrf_of(page.text)


def audit_entries(db: Database, action: str | None = None, **where: Any) -> list[AuditEntry]:
    with db.session() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list(session.scalars(stmt))


@dataclass
class MadeCall:
    call_sid: str
    call_id: str


def make_call(
    db: Database,
    *,
    patient_id: str | None = "p-001",
    started_at: datetime | None = None,
    transferred: bool = False,
    intent: str = "refill_request",
    turns: tuple[tuple[str, str, int | None], ...] = (
        ("agent", "Thanks for calling. How can I help you today?", None),
        ("caller", "I need a refill of my blood pressure pills.", None),
        ("agent", "I can help with that. What is your first and last name?", 640),
    ),
) -> MadeCall:
    """A finished call. Its turns and its end are "now" on the system clock, the clock of
    the test apps' server (today's numbers on the dashboard); ``started_at`` defaults to it."""
    call_sid = "CA" + secrets.token_hex(16)
    now = system_clock()
    with db.session() as session:
        call = call_repo.open_call(
            session,
            TESTS,
            call_sid=call_sid,
            caller_number="+15551234567",
            started_at=started_at or now,
        )
        for speaker, text, gap in turns:
            call_repo.add_turn(
                session, TESTS, call_sid, speaker=speaker, text=text, response_gap_ms=gap, at=now
            )
        if patient_id:
            call_repo.link_patient(session, TESTS, call_sid, patient_id, verified=True)
        call_repo.close_call(
            session,
            TESTS,
            call_sid,
            outcome="transferred" if transferred else "completed",
            intent=intent,
            transferred=transferred,
            transfer_reason="caller_request" if transferred else None,
            ended_at=now,
        )
        return MadeCall(call_sid, call.id)


def make_transfer(
    db: Database,
    *,
    urgency: str = "routine",
    reason_code: str = "caller_request",
    patient_id: str | None = "p-001",
    call: MadeCall | None = None,
    name: str = "Maria Gonzalez",
) -> str:
    summary = build_summary(
        caller_number="+15551234567",
        patient_id=patient_id,
        patient_name=name,
        verified=patient_id is not None,
        intent="refill_request",
        details={"medication": "lisinopril"},
        reason_code=reason_code,
        reason="The caller asked to speak with a person.",
        urgency=urgency,
        transcript=[("caller", "Can I talk to a real person?"), ("agent", "Connecting you now.")],
    )
    with db.session() as session:
        return transfer_repo.create_transfer(
            session,
            TESTS,
            reason_code=reason_code,
            call_id=call.call_id if call else None,
            patient_id=patient_id,
            reason=summary.reason,
            urgency=urgency,
            summary=summary.to_dict(),
        ).id


def make_callback(db: Database, *, patient_id: str | None = "p-002") -> str:
    with db.session() as session:
        return callback_repo.create_callback(
            session,
            TESTS,
            phone="+15559876543",
            name="James Okafor",
            reason="Wants to know if the clinic is open on Saturday.",
            patient_id=patient_id,
        ).id


def make_refill(db: Database, *, patient_id: str = "p-001") -> str:
    with db.session() as session:
        meds = refill_repo.list_medications(session, TESTS, patient_id)
        return refill_repo.create_refill_request(
            session, TESTS, patient_id=patient_id, medication_id=meds[0].id
        ).id


def make_insurance_change(db: Database, *, patient_id: str = "p-001") -> str:
    with db.session() as session:
        return insurance_repo.request_insurance_change(
            session,
            TESTS,
            patient_id=patient_id,
            carrier="Cigna",
            member_id="CIG99887766",
            group_number="4455",
        ).id
