"""Who may reach what: anonymous visitors, staff, admins, and API tokens by role."""

from __future__ import annotations

import pytest

from tests.web.conftest import StaffApp
from tests.web.helpers import TESTS, add_user, signed_in
from voiceagent.store.repos import staff as staff_repo

STAFF_PAGES = ["/staff", "/staff/callbacks", "/staff/refills", "/staff/insurance", "/staff/calls"]
ADMIN_PAGES = [
    "/staff/admin/flows",
    "/staff/admin/policy",
    "/staff/admin/flow?name=flows/clinic_fax.yaml",
    "/staff/admin/flow/history?name=flows/clinic_fax.yaml",
    "/staff/admin/users",
    "/staff/admin/tokens",
]
ADMIN_POSTS = [
    "/staff/admin/flows/validate",
    "/staff/admin/flow/validate",
    "/staff/admin/flow/save",
    "/staff/admin/flow/rollback",
    "/staff/admin/users",
    "/staff/admin/tokens",
]
API_READS = [
    "/api/me",
    "/api/calls",
    "/api/calls/CA00000000000000000000000000000000",
    "/api/appointments",
    "/api/refill-requests",
    "/api/insurance-changes",
    "/api/transfers",
    "/api/callbacks",
]
API_ADMIN = ["/api/admin/staff-users", "/api/admin/tokens", "/api/admin/flows"]


def _token(app: StaffApp, role: str) -> str:
    with app.db.session() as session:
        return staff_repo.create_token(session, TESTS, role=role, label=f"{role} test")[1]


def _assert_error_body(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_anonymous_visitors_are_sent_to_sign_in(staff_app: StaffApp) -> None:
    client = staff_app.client
    for path in STAFF_PAGES + ADMIN_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/staff/login?next="), path
    for path in ADMIN_POSTS:
        response = client.post(path, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/staff/login"), path
    for path in API_READS + API_ADMIN:
        response = client.get(path)
        _assert_error_body(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_staff_cannot_reach_admin_pages_or_admin_actions(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "sam", "staff")
    client = staff_app.client
    csrf = signed_in(client, "sam")
    for path in STAFF_PAGES:
        assert client.get(path).status_code == 200, path
    for path in ADMIN_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert "Admins only" in response.text
    posts = {
        "/staff/admin/flow/save": {"name": "flows/clinic_fax.yaml", "text": "flow: x\n"},
        "/staff/admin/users": {
            "username": "sneaky",
            "role": "admin",
            "password": "a long enough password",
            "password_again": "a long enough password",
        },
        "/staff/admin/tokens": {"role": "admin"},
    }
    for path, data in posts.items():
        response = client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert response.status_code == 403, path
    with staff_app.db.session() as session:
        assert staff_repo.find_user(session, "sneaky") is None
        assert staff_repo.list_tokens(session) == []
    assert "Our fax number" in (staff_app.dialogs / "flows/clinic_fax.yaml").read_text()
    for path in API_ADMIN:
        _assert_error_body(client.get(path), 403, "forbidden")
    nav = client.get("/staff").text
    assert "/staff/admin/" not in nav  # admins' links are not even shown


def test_admins_reach_everything(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "ada", "admin")
    client = staff_app.client
    signed_in(client, "ada")
    for path in STAFF_PAGES + ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    for path in API_ADMIN:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_api_tokens_read_and_only_admin_tokens_reach_admin_routes(
    staff_app: StaffApp, role: str
) -> None:
    headers = {"Authorization": f"Bearer {_token(staff_app, role)}"}
    client = staff_app.new_client()
    for path in API_READS:
        if path.startswith("/api/calls/CA"):
            _assert_error_body(client.get(path, headers=headers), 404, "not_found")
        else:
            assert client.get(path, headers=headers).status_code == 200, path
    assert client.get("/api/me", headers=headers).json() == {
        "kind": "api",
        "role": role,
        "username": None,
    }
    for path in API_ADMIN:
        response = client.get(path, headers=headers)
        if role == "admin":
            assert response.status_code == 200, path
        else:
            _assert_error_body(response, 403, "forbidden")
    # A token is for the API only: it opens no dashboard page.
    page = client.get("/staff", headers=headers, follow_redirects=False)
    assert page.status_code == 303


def test_bad_revoked_and_expired_tokens_are_refused(staff_app: StaffApp) -> None:
    from datetime import timedelta

    from voiceagent.clock import system_clock

    client = staff_app.new_client()
    now = system_clock()  # the server's clock: the expired token is checked against it
    with staff_app.db.session() as session:
        revoked, revoked_secret = staff_repo.create_token(session, TESTS, role="admin")
        staff_repo.revoke_token(session, TESTS, revoked.id, now=now)
        _expired, expired_secret = staff_repo.create_token(
            session, TESTS, role="admin", expires_at=now - timedelta(seconds=1)
        )
    for secret in ("vat_not-a-real-token", revoked_secret, expired_secret, "garbage"):
        response = client.get("/api/calls", headers={"Authorization": f"Bearer {secret}"})
        _assert_error_body(response, 401, "unauthorized")
