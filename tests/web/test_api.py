"""The JSON API's read side: filters by patient and date, audit entries, error bodies and
the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

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
from voiceagent.store.repos import staff as staff_repo

CLINIC_TZ = ZoneInfo("America/New_York")


@pytest.fixture
def api(staff_app: StaffApp) -> tuple[StaffApp, dict[str, str], str]:
    with staff_app.db.session() as session:
        token, secret = staff_repo.create_token(session, TESTS, role="staff", label="checker")
    return staff_app, {"Authorization": f"Bearer {secret}"}, token.id


def _get(app: StaffApp, headers: dict[str, str], path: str, **params: str) -> Any:
    response = app.client.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_calls_filter_by_patient_and_clinic_day(api) -> None:  # type: ignore[no-untyped-def]
    app, headers, token_id = api
    nov2 = make_call(
        app.db, patient_id="p-001", started_at=datetime(2026, 11, 2, 9, tzinfo=CLINIC_TZ)
    )
    # 11:30 PM on Nov 30 in the clinic is already Dec 1 in UTC: still November's.
    nov30 = make_call(
        app.db, patient_id="p-001", started_at=datetime(2026, 11, 30, 23, 30, tzinfo=CLINIC_TZ)
    )
    dec = make_call(
        app.db, patient_id="p-001", started_at=datetime(2026, 12, 3, 9, tzinfo=CLINIC_TZ)
    )
    other = make_call(
        app.db, patient_id="p-002", started_at=datetime(2026, 11, 5, 9, tzinfo=CLINIC_TZ)
    )

    november = _get(
        app, headers, "/api/calls", patient_id="p-001", since="2026-11-01", until="2026-11-30"
    )
    assert {c["call_sid"] for c in november} == {nov2.call_sid, nov30.call_sid}
    everyone = _get(app, headers, "/api/calls", since="2026-11-01", until="2026-11-30")
    assert {c["call_sid"] for c in everyone} == {nov2.call_sid, nov30.call_sid, other.call_sid}
    assert {c["call_sid"] for c in _get(app, headers, "/api/calls", patient_id="p-001")} == {
        nov2.call_sid,
        nov30.call_sid,
        dec.call_sid,
    }
    instant = _get(app, headers, "/api/calls", since="2026-12-03T08:00:00-05:00")
    assert [c["call_sid"] for c in instant] == [dec.call_sid]
    first = november[0]
    assert {"outcome", "intent", "transferred", "reason"} <= set(first)
    assert first["transcript"] is None  # lists leave transcripts out unless asked

    listed = audit_entries(app.db, "call.list", actor_type="api")
    assert len(listed) == 4 and all(e.actor_id == token_id for e in listed)
    assert '"patient_id":"p-001"' in listed[0].details


def test_one_call_has_its_transcript_and_the_read_is_audited(api) -> None:  # type: ignore[no-untyped-def]
    app, headers, token_id = api
    call = make_call(app.db, transferred=True)
    make_transfer(app.db, call=call)
    body = _get(app, headers, f"/api/calls/{call.call_sid}")
    assert body["transferred"] is True and body["reason"] == "caller_request"
    assert body["outcome"] == "transferred" and body["intent"] == "refill_request"
    assert [t["speaker"] for t in body["transcript"]] == ["agent", "caller", "agent"]
    assert "refill" in body["transcript"][1]["text"]
    assert body["transfers"][0]["reason_code"] == "caller_request"
    reads = audit_entries(app.db, "call.read", actor_type="api", actor_id=token_id)
    assert len(reads) == 1 and reads[0].record_id == call.call_id
    with_turns = _get(app, headers, "/api/calls", include_transcript="true")
    assert with_turns[0]["transcript"][0]["speaker"] == "agent"


def test_every_list_filters_by_patient_and_is_audited(api) -> None:  # type: ignore[no-untyped-def]
    app, headers, token_id = api
    mine = {
        "/api/transfers": make_transfer(app.db, patient_id="p-001"),
        "/api/callbacks": make_callback(app.db, patient_id="p-001"),
        "/api/refill-requests": make_refill(app.db, patient_id="p-001"),
        "/api/insurance-changes": make_insurance_change(app.db, patient_id="p-001"),
    }
    make_transfer(app.db, patient_id="p-002", name="James Okafor")
    make_callback(app.db, patient_id="p-002")
    make_refill(app.db, patient_id="p-002")
    make_insurance_change(app.db, patient_id="p-002")
    actions = {
        "/api/transfers": "transfer.list",
        "/api/callbacks": "callback.list",
        "/api/refill-requests": "refill.list",
        "/api/insurance-changes": "insurance_change.list",
    }
    for path, record_id in mine.items():
        rows = _get(app, headers, path, patient_id="p-001")
        assert [r["id"] for r in rows] == [record_id], path
        assert len(_get(app, headers, path)) == 2, path
        assert _get(app, headers, path, since="2030-01-01") == [], path
        entries = audit_entries(app.db, actions[path], actor_type="api", actor_id=token_id)
        assert len(entries) == 3, path
    refill = _get(app, headers, "/api/refill-requests", patient_id="p-001")[0]
    assert refill["medication"] == "lisinopril" and refill["on_file"] is True
    transfer = _get(app, headers, "/api/transfers", patient_id="p-001")[0]
    assert transfer["summary"]["patient"]["verified"] is True
    assert transfer["summary"]["reason_code"] == "caller_request"
    change = _get(app, headers, "/api/insurance-changes", patient_id="p-001", status="pending")[0]
    assert change["carrier"] == "Cigna"


def test_appointments_filter_by_patient_and_start_day(api) -> None:  # type: ignore[no-untyped-def]
    app, headers, token_id = api
    seeded = _get(app, headers, "/api/appointments", patient_id="p-001")
    assert seeded and all(a["patient_id"] == "p-001" for a in seeded)

    def local_day(row: dict[str, str]) -> str:
        return datetime.fromisoformat(row["start"]).astimezone(CLINIC_TZ).date().isoformat()

    day = local_day(seeded[0])
    same_day = _get(app, headers, "/api/appointments", since=day, until=day)
    assert seeded[0]["id"] in {a["id"] for a in same_day}
    assert {local_day(a) for a in same_day} == {day}
    everyone = _get(app, headers, "/api/appointments")
    assert len(everyone) > len(same_day)
    assert audit_entries(app.db, "appointment.list", actor_type="api", actor_id=token_id)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "last tuesday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-30", "until": "2026-11-01"}, "until"),
        ({"status": "lost"}, "status"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_get_a_json_error_naming_the_field(api, query, field) -> None:  # type: ignore[no-untyped-def]
    app, headers, _ = api
    response = app.client.get("/api/transfers", headers=headers, params=query)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [f["field"] for f in error["fields"]] == [field]
    for value in query.values():
        if len(value) > 2:
            assert value not in response.text  # what the client sent is not echoed


def test_unknown_call_and_unknown_route_are_json_errors(api) -> None:  # type: ignore[no-untyped-def]
    app, headers, _ = api
    missing = app.client.get("/api/calls/CAnothere", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"status": 404, "code": "not_found", "message": "call not found"}
    }
    nowhere = app.client.get("/api/nothing-here", headers=headers)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"


def test_the_dashboard_session_can_read_the_api_too(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    signed_in(staff_app.client, "alice")
    make_transfer(staff_app.db)
    rows = staff_app.client.get("/api/transfers").json()
    assert len(rows) == 1
    entry = audit_entries(staff_app.db, "transfer.list")[-1]
    assert (entry.actor_type, entry.actor_id) == ("staff", "alice")


def test_no_openapi_document_or_docs_page_by_default(staff_app: StaffApp) -> None:
    with staff_app.db.session() as session:
        _token, secret = staff_repo.create_token(session, TESTS, role="admin")
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        for headers in ({}, {"Authorization": f"Bearer {secret}"}):
            assert staff_app.client.get(path, headers=headers).status_code == 404, path


def test_openapi_schema_is_served_in_development_and_consistent(
    make_app: Callable[..., StaffApp],
) -> None:
    app = make_app(openapi=True)
    assert app.client.get("/docs").status_code == 404  # the document only, never a UI
    response = app.client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/calls",
        "/api/calls/{call_sid}",
        "/api/appointments",
        "/api/refill-requests",
        "/api/insurance-changes",
        "/api/transfers",
        "/api/callbacks",
    ):
        operation = paths[path]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert operation["responses"]["401"]
        names = {p["name"] for p in operation.get("parameters", [])}
        if "{" not in path:
            assert {"patient_id", "since", "until"} <= names, path
        assert operation["security"] == [{"token": []}], path
    assert not any(p.startswith("/staff") for p in paths)  # pages are not API
    components = schema["components"]["schemas"]
    assert "ErrorBody" in components

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(schema):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in components, ref
