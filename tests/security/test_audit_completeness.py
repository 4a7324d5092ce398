"""Every read of patient data through the dashboard or the API leaves an audit entry that
names who read and which records, and the chain still verifies afterwards.

Each read below is made over HTTP against the real server, as a staff member (pages, the
live queue's event stream, and the API through the dashboard session) and as an API token.
For each one the test collects the records the answer *shows* (ids in the page or the JSON,
patients named next to their medications or insurance) and requires that the entries the
request wrote, all under that actor's name, name every one of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.security import callers
from tests.security.callers import Credentials, new_session, send
from tests.web.helpers import (
    TESTS,
    add_user,
    make_call,
    make_callback,
    make_insurance_change,
    make_refill,
    make_transfer,
)
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store import audit
from voiceagent.store.models import AuditEntry, AuditHead, Call, Transfer
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import refills as refill_repo
from voiceagent.store.repos._common import MAX_AUDITED_IDS

Named = set[tuple[str, str]]  # (record type or action, record id)
VOICEAGENT = str(Path(sys.executable).with_name("voiceagent"))


@dataclass(frozen=True)
class Actor:
    credentials: Credentials
    type: str  # staff | api
    id: str  # username or token id


@pytest.fixture(scope="module")
def records(clinic: Sandbox) -> None:
    """What calls would have left: calls with transcripts, handoffs, callbacks, refill
    requests and insurance changes for several patients (appointments come seeded)."""
    db = clinic.runtime.db
    for patient in ("p-001", "p-002", "p-003"):
        call = make_call(db, patient_id=patient, transferred=True)
        make_transfer(db, call=call, patient_id=patient)
        make_callback(db, patient_id=patient)
        make_refill(db, patient_id=patient)
        make_insurance_change(db, patient_id=patient)
    make_call(db, patient_id=None)


@pytest.fixture(scope="module")
def staff(clinic: Sandbox, records: None) -> Actor:
    add_user(clinic.runtime.db, "audit-staff")
    return Actor(new_session(clinic, "audit-staff"), "staff", "audit-staff")


@pytest.fixture(scope="module")
def token(clinic: Sandbox, records: None) -> Actor:
    from voiceagent.store.repos import staff as staff_repo

    with clinic.runtime.db.session() as session:
        row, secret = staff_repo.create_token(session, TESTS, role="staff", label="audit")
    return Actor(Credentials(bearer=secret), "api", row.id)


# --- what an answer shows --------------------------------------------------------------------


def call_ids(clinic: Sandbox) -> dict[str, str]:
    with clinic.runtime.db.session() as session:
        return {sid: call_id for sid, call_id in session.execute(select(Call.call_sid, Call.id))}


def transfers_of_call(clinic: Sandbox, call_sid: str) -> list[str]:
    with clinic.runtime.db.session() as session:
        return list(
            session.scalars(
                select(Transfer.id)
                .join(Call, Call.id == Transfer.call_id)
                .where(Call.call_sid == call_sid)
            )
        )


def _attr(name: str, html: str) -> set[str]:
    return set(re.findall(rf'data-{name}-id="([0-9a-f]+)"', html))


def _patients(html: str) -> set[str]:
    return set(re.findall(r"\((p-\d{3})\)", html))


def shown_on_page(clinic: Sandbox, target: str, html: str) -> Named:
    path = target.split("?")[0]
    if path in ("/staff", "/staff/events"):
        return {("transfer", t) for t in _attr("transfer", html)}
    if path == "/staff/callbacks":
        return {("callback", c) for c in _attr("callback", html)}
    if path == "/staff/refills":
        patients = _patients(html)
        return (
            {("refill_request", r) for r in _attr("refill", html)}
            | {("patient.read", p) for p in patients}
            | {("medication.read", p) for p in patients}
        )
    if path == "/staff/insurance":
        patients = _patients(html)
        return (
            {("insurance_change", c) for c in _attr("insurance", html)}
            | {("patient.read", p) for p in patients}
            | {("insurance.read", p) for p in patients}
        )
    ids = call_ids(clinic)
    if path == "/staff/calls":
        return {("call", ids[sid]) for sid in re.findall(r'href="/staff/calls/(\w+)"', html)}
    if path.startswith("/staff/calls/"):
        sid = path.rsplit("/", 1)[1]
        return {("call.read", ids[sid])} | {
            ("transfer.read", t) for t in transfers_of_call(clinic, sid)
        }
    raise AssertionError(f"no rule for what {path} shows")


LIST_TYPES = {
    "/api/appointments": "appointment",
    "/api/refill-requests": "refill_request",
    "/api/insurance-changes": "insurance_change",
    "/api/transfers": "transfer",
    "/api/callbacks": "callback",
}


def shown_in_json(clinic: Sandbox, target: str, body: object) -> Named:
    path = target.split("?")[0]
    ids = call_ids(clinic)
    if path.startswith("/api/calls/"):
        assert isinstance(body, dict)
        return {("call.read", ids[body["call_sid"]])} | {
            ("transfer.read", t["id"]) for t in body["transfers"]
        }
    assert isinstance(body, list)
    if path == "/api/calls":
        kind = "call.read" if "include_transcript=true" in target else "call"
        return {(kind, ids[row["call_sid"]]) for row in body}
    named = {(LIST_TYPES[path], row["id"]) for row in body}
    if path == "/api/refill-requests":  # the medication on file is read per patient
        named |= {("medication.read", row["patient_id"]) for row in body if row["on_file"]}
    return named


# --- what the audit log says -----------------------------------------------------------------


def head(clinic: Sandbox) -> int:
    with clinic.runtime.db.session() as session:
        return int(session.scalar(select(AuditHead.seq)) or 0)


def entries_since(clinic: Sandbox, seq: int) -> list[AuditEntry]:
    with clinic.runtime.db.session() as session:
        stmt = select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
        return list(session.scalars(stmt))


def named_by(entries: list[AuditEntry]) -> Named:
    named: Named = set()
    for entry in entries:
        ids = json.loads(entry.details or "{}").get("ids", [])
        for record in [entry.record_id, *ids]:
            if record:
                named |= {(str(entry.record_type), record), (entry.action, record)}
    return named


def read_and_check(
    clinic: Sandbox, actor: Actor, target: str, shown: Callable[[httpx.Response], Named]
) -> Named:
    before = head(clinic)
    if target.startswith("/staff/events"):
        data = callers.first_event(clinic, actor.credentials, target, "queue")
        response = httpx.Response(200, text=str(data["html"]))
    else:
        response = send(clinic, actor.credentials, "GET", target)
        assert response.status_code == 200, f"{target}: {response.status_code}"
    records = shown(response)
    assert records, f"{target} showed no records: nothing to check"
    entries = entries_since(clinic, before)
    strangers = [e.action for e in entries if (e.actor_type, e.actor_id) != (actor.type, actor.id)]
    assert strangers == [], f"{target} wrote entries under another name"
    missing = records - named_by(entries)
    assert missing == set(), f"{target} showed records its audit entries do not name"
    return records


PAGES = [
    "/staff",
    "/staff/events",
    "/staff/calls",
    "/staff/calls/{call_sid}",
    "/staff/callbacks",
    "/staff/refills",
    "/staff/insurance",
]
API = [
    "/api/calls",
    "/api/calls?include_transcript=true",
    "/api/calls/{call_sid}",
    "/api/calls?patient_id=p-002",
    "/api/appointments",
    "/api/appointments?patient_id=p-001",
    "/api/refill-requests",
    "/api/insurance-changes",
    "/api/transfers",
    "/api/callbacks",
    "/api/callbacks?status=open",
]


def _concrete(clinic: Sandbox, target: str) -> str:
    with clinic.runtime.db.session() as session:
        sid = session.scalar(
            select(Call.call_sid).join(Transfer, Transfer.call_id == Call.id).limit(1)
        )
    return target.replace("{call_sid}", str(sid))


@pytest.mark.parametrize("target", PAGES)
def test_a_staff_members_page_reads_are_audited(clinic: Sandbox, staff: Actor, target: str) -> None:
    target = _concrete(clinic, target)
    read_and_check(clinic, staff, target, _page_of(clinic, target))


@pytest.mark.parametrize("target", API)
@pytest.mark.parametrize("who", ["token", "staff"])
def test_api_reads_are_audited_for_tokens_and_sessions(
    clinic: Sandbox, staff: Actor, token: Actor, who: str, target: str
) -> None:
    actor = token if who == "token" else staff
    target = _concrete(clinic, target)
    read_and_check(clinic, actor, target, _json_of(clinic, target))


def test_a_long_list_names_every_record_it_shows(
    clinic: Sandbox, staff: Actor, token: Actor
) -> None:
    """More records than one audit entry can list: pages and API answers are bounded by
    what an entry names, so no answer shows a record its entry leaves out."""
    db = clinic.runtime.db
    with db.session() as session:
        (medication, *_) = refill_repo.list_medications(session, TESTS, "p-004")
        for n in range(MAX_AUDITED_IDS + 5):
            callback_repo.create_callback(session, TESTS, phone="+15550000000", reason=f"n{n}")
            refill_repo.create_refill_request(
                session, TESTS, patient_id="p-004", medication_id=medication.id
            )
    for limit in (MAX_AUDITED_IDS + 1, 1000):
        response = send(clinic, token.credentials, "GET", f"/api/callbacks?limit={limit}")
        assert response.status_code == 422
    reads = [
        (token, f"/api/callbacks?limit={MAX_AUDITED_IDS}", "callback"),
        (token, "/api/refill-requests", "refill_request"),
        (staff, "/staff/callbacks", "callback"),
        (staff, "/staff/refills", "refill_request"),
    ]
    for actor, target, kind in reads:
        if target.startswith("/api/"):
            shown = read_and_check(clinic, actor, target, _json_of(clinic, target))
        else:
            shown = read_and_check(clinic, actor, target, _page_of(clinic, target))
        assert len({r for r in shown if r[0] == kind}) == MAX_AUDITED_IDS, target


def _json_of(clinic: Sandbox, target: str) -> Callable[[httpx.Response], Named]:
    return lambda response: shown_in_json(clinic, target, response.json())


def _page_of(clinic: Sandbox, target: str) -> Callable[[httpx.Response], Named]:
    return lambda response: shown_on_page(clinic, target, response.text)


def test_the_audit_chain_verifies_after_all_of_it(clinic: Sandbox) -> None:
    with clinic.runtime.db.session() as session:
        result = audit.verify(session)
    assert result.ok, result.problem
    assert result.entries > 100
    settings = clinic.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEAGENT_")}
    env |= {
        "VOICEAGENT_DATABASE_URL": settings.database_url,
        "VOICEAGENT_KEYRING": settings.keyring,
    }
    done = subprocess.run(
        [VOICEAGENT, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.startswith("audit log OK")
