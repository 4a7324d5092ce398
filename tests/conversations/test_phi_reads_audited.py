"""Every patient detail the agent speaks on a call was read under an audit entry of that
call's agent naming the patient's record, in every conversation script; and nobody's last
name or member id is spoken on a call not verified as them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conversations.conftest import CLINIC_TZ
from voiceagent.dialog.conversations import load_conversation, run_conversation
from voiceagent.dialog.templates import spoken_datetime
from voiceagent.store import Actor
from voiceagent.store.models import (
    Appointment,
    AuditEntry,
    Call,
    InsurancePolicy,
    Medication,
    Patient,
)
from voiceagent.store.repos.patients import pharmacy_on_file

SCRIPTS = sorted(Path(__file__).parent.glob("*.yaml"))

# Which audited reads may have put each kind of detail in the agent's mouth.
READS = {
    "last name": {"patient.search", "call.identify", "patient.read"},
    "medication": {"medication.read"},
    "pharmacy": {"patient.pharmacy.read"},
    "member id": {"insurance.read"},
    "appointment": {
        "appointment.next",
        "appointment.list",
        "appointment.read",
        "appointment.book",
        "appointment.reschedule",
        "appointment.cancel",
    },
}
UNIQUE_TO_A_RECORD = {"last name", "member id"}


def spoken_details(session, patient: Patient, zone) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """What of this patient's record could be heard, as the agent would say it."""
    medications = session.scalars(select(Medication).where(Medication.patient_id == patient.id))
    policies = session.scalars(
        select(InsurancePolicy).where(InsurancePolicy.patient_id == patient.id)
    )
    appointments = session.scalars(select(Appointment).where(Appointment.patient_id == patient.id))
    pharmacy = pharmacy_on_file(session, patient.id)
    return {
        "last name": [patient.last_name],
        "medication": [m.name for m in medications],
        "pharmacy": [pharmacy.name] if pharmacy else [],
        "member id": [p.member_id[-4:] for p in policies if p.member_id],
        "appointment": [spoken_datetime(a.start_utc.astimezone(zone)) for a in appointments],
    }


def names_the_record(entry: AuditEntry, patient_id: str) -> bool:
    details = json.loads(entry.details or "{}")
    return (
        (entry.record_type == "patient" and entry.record_id == patient_id)
        or details.get("patient_id") == patient_id
        or patient_id in (details.get("ids") or [])
    )


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_what_the_agent_says_of_a_record_was_read_under_audit(
    path: Path, conversation_factory
) -> None:  # type: ignore[no-untyped-def]
    conversation = load_conversation(path)
    db, factory = conversation_factory(conversation)
    result = run_conversation(conversation, db, factory.new_dialog, now=factory.services.clock())
    agent_said = " ".join(
        line.removeprefix("AGENT: ").lower() for line in result.lines if line.startswith("AGENT:")
    )
    agent = Actor.agent(result.call_sid)
    problems = []
    with db.session() as session:
        call = session.scalars(select(Call).where(Call.call_sid == result.call_sid)).one()
        entries = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.actor_type == agent.type, AuditEntry.actor_id == agent.id
                )
            )
        )
        for patient in session.scalars(select(Patient)):
            for kind, values in spoken_details(session, patient, CLINIC_TZ).items():
                heard = [v for v in values if v and v.lower() in agent_said]
                if not heard:
                    continue
                if not (call.verified and call.patient_id == patient.id):
                    # Medications, pharmacies and times are shared words (a slot offered,
                    # a pharmacy chosen); a last name or member id is this record's own.
                    if kind in UNIQUE_TO_A_RECORD:
                        problems.append(f"{kind} of {patient.id} said, not verified as them")
                    continue
                reads = {e.action for e in entries if names_the_record(e, patient.id)}
                if not reads & READS[kind]:
                    problems.append(
                        f"{kind} of {patient.id} said, but the agent's audited reads of that "
                        f"record were only {sorted(reads)}"
                    )
    assert not problems, "\n".join(["", *result.lines, "", *problems])
