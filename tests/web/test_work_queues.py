"""Callbacks, refill requests, insurance changes and call history, as staff work them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.web.conftest import StaffApp
from tests.web.helpers import (
    TESTS,
    add_user,
    audit_entries,
    make_call,
    make_callback,
    make_insurance_change,
    make_refill,
    make_transfer,
    signed_in,
)
from voiceagent.callrecords import TEST_CALL_LINE
from voiceagent.handoff.hours import ClinicHours
from voiceagent.store.models import (
    Call,
    Callback,
    InsuranceChangeRequest,
    InsurancePolicy,
    RefillRequest,
)
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos.clinic import get_clinic
from voiceagent.web.kpis import kpis

CLINIC_TZ = ZoneInfo("America/New_York")


def test_callback_done_with_a_note(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    callback_id = make_callback(staff_app.db)
    client = staff_app.client
    csrf = signed_in(client, "alice")
    page = client.get("/staff/callbacks")
    assert f'data-callback-id="{callback_id}"' in page.text and "+15559876543" in page.text
    assert audit_entries(staff_app.db, "callback.list", actor_type="staff", actor_id="alice")
    response = client.post(
        f"/staff/callbacks/{callback_id}/done",
        data={
            "csrf_token": csrf,
            "note": "Called back, booked for Thursday",
            "back": "status=open",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff/callbacks?status=open&msg=callback_done"
    with staff_app.db.session() as session:
        callback = session.get(Callback, callback_id)
        assert (callback.status, callback.done_by) == ("done", "staff:alice")
        assert callback.note == "Called back, booked for Thursday"
    assert callback_id not in client.get("/staff/callbacks").text  # open ones by default
    done = client.get("/staff/callbacks", params={"status": "done"}).text
    assert callback_id in done and "Called back, booked for Thursday" in done


def test_lists_filter_by_date_and_reject_bad_filters(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    callback_id = make_callback(staff_app.db)
    client = staff_app.client
    signed_in(client, "alice")
    today = datetime.now(CLINIC_TZ).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert callback_id in client.get("/staff/callbacks", params={"since": today.isoformat()}).text
    assert callback_id not in client.get("/staff/callbacks", params={"since": tomorrow}).text
    assert callback_id in client.get("/staff/callbacks", params={"until": today.isoformat()}).text
    bad = client.get("/staff/callbacks", params={"since": "someday"})
    assert bad.status_code == 400 and "since: use a date like" in bad.text
    wrong_status = client.get("/staff/refills", params={"status": "lost"})
    assert wrong_status.status_code == 400


def test_refill_decisions(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    approve, deny, visit = (make_refill(staff_app.db) for _ in range(3))
    client = staff_app.client
    csrf = signed_in(client, "alice")
    page = client.get("/staff/refills").text
    assert "lisinopril 10 mg daily" in page and "Maria Gonzalez" in page
    for request_id, decision in ((approve, "approved"), (deny, "denied"), (visit, "needs_visit")):
        response = client.post(
            f"/staff/refills/{request_id}",
            data={"csrf_token": csrf, "decision": decision, "note": f"{decision} by phone"},
            follow_redirects=False,
        )
        assert "msg=refill_saved" in response.headers["location"]
    with staff_app.db.session() as session:
        for request_id, decision in (
            (approve, "approved"),
            (deny, "denied"),
            (visit, "needs_visit"),
        ):
            request = session.get(RefillRequest, request_id)
            assert (request.status, request.decided_by) == (decision, "staff:alice")
            assert request.staff_note == f"{decision} by phone"
    again = client.post(
        f"/staff/refills/{approve}",
        data={"csrf_token": csrf, "decision": "denied"},
        follow_redirects=False,
    )
    assert "msg=already_done" in again.headers["location"]
    nonsense = client.post(f"/staff/refills/{deny}", data={"csrf_token": csrf, "decision": "shred"})
    assert nonsense.status_code == 400
    assert len(audit_entries(staff_app.db, "refill.update", actor_id="alice")) == 3


def test_insurance_verify_updates_the_policy_and_reject_does_not(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    verify = make_insurance_change(staff_app.db, patient_id="p-001")
    reject = make_insurance_change(staff_app.db, patient_id="p-002")
    client = staff_app.client
    csrf = signed_in(client, "alice")
    page = client.get("/staff/insurance").text
    assert "CIG99887766" in page and "Aetna" in page  # what was asked for, and what is on file
    for change_id, decision in ((verify, "verified"), (reject, "rejected")):
        client.post(
            f"/staff/insurance/{change_id}", data={"csrf_token": csrf, "decision": decision}
        )
    with staff_app.db.session() as session:
        assert session.get(InsuranceChangeRequest, verify).status == "verified"
        assert session.get(InsuranceChangeRequest, reject).status == "rejected"
        policies = {
            p.patient_id: p for p in session.query(InsurancePolicy).filter(InsurancePolicy.active)
        }
        assert policies["p-001"].carrier == "Cigna"
        assert policies["p-001"].member_id == "CIG99887766"
        assert policies["p-002"].carrier != "Cigna"


def test_call_history_shows_outcomes_and_the_transcript_only_on_its_own_page(
    staff_app: StaffApp,
) -> None:
    add_user(staff_app.db, "alice")
    call = make_call(staff_app.db, transferred=True)
    make_transfer(staff_app.db, call=call)
    quiet = make_call(staff_app.db, patient_id="p-002", intent="clinic_hours")
    client = staff_app.client
    signed_in(client, "alice")
    history = client.get("/staff/calls").text
    assert f"/staff/calls/{call.call_sid}" in history and "caller request" in history
    assert "clinic hours" in history and "640" in history  # intent, and the gap stats
    assert "blood pressure pills" not in history  # transcripts are not on the list
    assert audit_entries(staff_app.db, "call.read", actor_id="alice") == []
    transferred_only = client.get("/staff/calls", params={"transferred": "yes"}).text
    assert call.call_sid in transferred_only and quiet.call_sid not in transferred_only
    by_patient = client.get("/staff/calls", params={"patient_id": "p-002"}).text
    assert quiet.call_sid in by_patient and call.call_sid not in by_patient
    detail = client.get(f"/staff/calls/{call.call_sid}").text
    assert "I need a refill of my blood pressure pills." in detail
    assert "Handoff: caller request" in detail
    (read,) = audit_entries(staff_app.db, "call.read", actor_id="alice")
    assert read.record_id == call.call_id
    assert client.get("/staff/calls/CAunknown").status_code == 404


def test_todays_numbers_count_after_hours_calls_by_the_clinic_hours(staff_app: StaffApp) -> None:
    """Monday 23 November: the demo clinic is open 08:00-17:00."""
    monday = datetime(2026, 11, 23, 18, 0, tzinfo=CLINIC_TZ)
    opening = make_call(staff_app.db, started_at=monday.replace(hour=9))
    evening = make_call(staff_app.db, started_at=monday.replace(hour=17, minute=30))
    make_call(staff_app.db, started_at=monday.replace(hour=7), transferred=True)
    make_call(staff_app.db, started_at=monday - timedelta(days=1))  # Sunday: not today
    test_call = make_call(staff_app.db, started_at=monday.replace(hour=10), transferred=True)
    with staff_app.db.session() as session:  # an admin's "Try a call": not the clinic's call
        session.get(Call, test_call.call_id).called_number = TEST_CALL_LINE
    with staff_app.db.session() as session:
        call_repo.add_turn(
            session,
            TESTS,
            evening.call_sid,
            speaker="agent",
            text="Goodbye.",
            response_gap_ms=960,
            at=monday.replace(hour=17, minute=31),
        )
        for sid in (opening.call_sid, evening.call_sid):  # the helper's turns are "now"
            call = call_repo.get_call(session, TESTS, sid)
            for turn in call.turns:
                turn.at = call.started_at
        clinic = get_clinic(session)
        hours = ClinicHours.from_config(clinic.hours, clinic.holidays, clinic.timezone)
        numbers = kpis(session, hours, now=monday)
    assert numbers.calls == 3
    assert numbers.transferred == 1 and round(numbers.containment or 0, 2) == 0.67
    assert numbers.after_hours == 2  # 07:00 and 17:30
    assert numbers.avg_gap_ms == 747  # (640 + 640 + 960) / 3: that day's agent turns
    assert numbers.p95_gap_ms == 960
