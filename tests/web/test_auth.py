"""Sign-in, sessions, CSRF and security headers, over HTTP against the real app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.web.conftest import StaffApp
from tests.web.helpers import (
    PASSWORD,
    add_user,
    audit_entries,
    login_token,
    make_transfer,
    sign_in,
    signed_in,
)
from voiceagent.store.ids import utcnow
from voiceagent.store.models import StaffSession, Transfer
from voiceagent.store.repos.staff import digest, pair_key
from voiceagent.web.sessions import HTTPS_COOKIE, PLAIN_COOKIE


def _set_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    found = [h for h in headers if h.startswith((PLAIN_COOKIE + "=", HTTPS_COOKIE + "="))]
    assert len(found) == 1, headers
    return found[0]


def _sessions(app: StaffApp) -> list[StaffSession]:
    with app.db.session() as session:
        return list(session.scalars(select(StaffSession)))


def test_sign_in_sets_a_strict_httponly_cookie_whose_hash_only_is_stored(
    staff_app: StaffApp,
) -> None:
    add_user(staff_app.db, "alice")
    response = sign_in(staff_app.client, "alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    cookie = _set_cookie_header(response)
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # the public URL is plain http here
    secret = cookie.split(";")[0].split("=", 1)[1]
    (row,) = _sessions(staff_app)
    assert row.id_hash == digest(secret) and row.id_hash != secret
    assert staff_app.client.get("/staff").status_code == 200
    (entry,) = audit_entries(staff_app.db, "staff.login")
    assert entry.actor_id == "alice" and entry.record_id == pair_key("alice", "testclient")


def test_https_deployments_get_a_secure_host_only_cookie_and_hsts(
    make_app: Callable[..., StaffApp],
) -> None:
    app = make_app(public_base_url="https://clinic.example")
    add_user(app.db, "alice")
    client = TestClient(app.app, base_url="https://clinic.example")
    response = sign_in(client, "alice")
    cookie = _set_cookie_header(response)
    assert cookie.startswith(HTTPS_COOKIE + "=")
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    page = client.get("/staff")
    assert page.status_code == 200
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_wrong_password_and_unknown_user_get_the_same_answer(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    wrong = sign_in(staff_app.client, "alice", "not the password at all")
    unknown = sign_in(staff_app.client, "mallory", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
        assert PLAIN_COOKIE not in response.cookies
    assert _sessions(staff_app) == []
    failures = audit_entries(staff_app.db, "staff.login_failed")
    assert {e.record_type for e in failures} == {"login_pair", "login_address"}
    assert all("mallory" not in e.details for e in failures)  # typed names are not kept


def test_sign_in_form_needs_its_own_token(staff_app: StaffApp) -> None:
    """A sign-in form posted from another site (login CSRF) has no matching form cookie."""
    add_user(staff_app.db, "alice")
    attacker = staff_app.new_client()
    response = attacker.post(
        "/staff/login",
        data={"username": "alice", "password": PASSWORD, "login_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert _sessions(staff_app) == []


def test_each_sign_in_issues_a_new_session_id_and_ends_the_old_one(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    client = staff_app.client
    first = sign_in(client, "alice").cookies[PLAIN_COOKIE]
    second = sign_in(client, "alice").cookies[PLAIN_COOKIE]
    assert first != second
    assert [s.id_hash for s in _sessions(staff_app)] == [digest(second)]
    stale = staff_app.new_client()
    stale.cookies.set(PLAIN_COOKIE, first)
    assert stale.get("/staff", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    client = staff_app.client
    csrf = signed_in(client, "alice")
    secret = client.cookies[PLAIN_COOKIE]
    refused = client.post("/staff/logout", follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: not signed out
    response = client.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?msg=logged_out"
    assert _sessions(staff_app) == []
    replay = staff_app.new_client()
    replay.cookies.set(PLAIN_COOKIE, secret)
    assert (
        replay.get("/staff", follow_redirects=False).headers["location"].startswith("/staff/login")
    )


def test_disabling_an_account_ends_its_sessions_at_once(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "boss", "admin")
    bob_id = add_user(staff_app.db, "bob")
    bob = staff_app.new_client()
    signed_in(bob, "bob")
    admin_csrf = signed_in(staff_app.client, "boss")
    response = staff_app.client.post(
        f"/staff/admin/users/{bob_id}/active",
        data={"csrf_token": admin_csrf, "active": "no"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    kicked = bob.get("/staff/callbacks", follow_redirects=False)
    assert kicked.status_code == 303
    assert kicked.headers["location"].startswith("/staff/login?next=%2Fstaff%2Fcallbacks")
    again = sign_in(bob, "bob")
    assert again.status_code == 401  # a disabled account cannot sign in either


def _age_session(app: StaffApp, **changes: object) -> None:
    with app.db.session() as session:
        session.execute(update(StaffSession).values(**changes))


def test_idle_timeout_signs_out_and_activity_extends_it(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    client = staff_app.client
    signed_in(client, "alice")
    idle = timedelta(seconds=staff_app.settings.session_idle_timeout_seconds)
    # Used a moment before the timeout: still signed in, and that use resets the clock.
    _age_session(staff_app, last_seen_at=utcnow() - idle + timedelta(seconds=30))
    assert client.get("/staff", follow_redirects=False).status_code == 200
    (row,) = _sessions(staff_app)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
    # Left alone past the timeout: signed out, told why, session gone.
    _age_session(staff_app, last_seen_at=utcnow() - idle - timedelta(seconds=1))
    response = client.get("/staff/refills", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("&msg=expired")
    assert _sessions(staff_app) == []
    login = client.get(response.headers["location"])
    assert "signed out after a period of inactivity" in login.text


def test_absolute_timeout_ends_even_a_busy_session(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    client = staff_app.client
    signed_in(client, "alice")
    _age_session(staff_app, expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/staff", follow_redirects=False).status_code == 303
    assert _sessions(staff_app) == []


def test_state_changes_need_the_sessions_csrf_token_and_our_origin(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    transfer_id = make_transfer(staff_app.db)
    client = staff_app.client
    csrf = signed_in(client, "alice")
    url = f"/staff/transfers/{transfer_id}/claim"
    missing = client.post(url, follow_redirects=False)
    forged = client.post(url, data={"csrf_token": "0" * 64}, follow_redirects=False)
    cross_site = client.post(
        url,
        data={"csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    for response in (missing, forged, cross_site):
        assert response.status_code == 403
        assert "Form expired" in response.text
    with staff_app.db.session() as session:
        assert session.get(Transfer, transfer_id).status == "new"
    ok = client.post(
        url,
        data={"csrf_token": csrf},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and "msg=claimed" in ok.headers["location"]


def test_another_sessions_token_does_not_work(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    add_user(staff_app.db, "bob")
    transfer_id = make_transfer(staff_app.db)
    bobs_token = signed_in(staff_app.new_client(), "bob")
    signed_in(staff_app.client, "alice")
    response = staff_app.client.post(
        f"/staff/transfers/{transfer_id}/claim",
        data={"csrf_token": bobs_token},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_every_page_and_answer_carries_the_security_headers(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    login_page = staff_app.client.get("/staff/login")
    signed_in(staff_app.client, "alice")
    responses = [
        login_page,
        staff_app.client.get("/staff"),
        staff_app.client.get("/staff/calls"),
        staff_app.client.get("/api/transfers"),
        staff_app.new_client().get("/api/calls"),  # an error answer too
    ]
    for response in responses:
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    static = staff_app.client.get("/staff/static/app.js")
    assert static.status_code == 200 and static.headers["cache-control"] == "no-cache"


def test_pages_use_no_inline_script_or_outside_resources(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice", "admin")
    signed_in(staff_app.client, "alice")
    for path in ("/staff/login", "/staff", "/staff/admin/flows", "/staff/admin/users"):
        html = staff_app.client.get(path).text
        assert "<script>" not in html and "onclick=" not in html and "style=" not in html
        assert "http://" not in html.replace("http://testserver", "")
        assert "https://" not in html


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    asked = staff_app.client.get("/staff/calls?since=2026-11-01", follow_redirects=False)
    assert asked.headers["location"] == "/staff/login?next=%2Fstaff%2Fcalls%3Fsince%3D2026-11-01"
    form = staff_app.client.get(asked.headers["location"])
    assert 'value="/staff/calls?since=2026-11-01"' in form.text
    for target, expected in (
        ("/staff/calls?since=2026-11-01", "/staff/calls?since=2026-11-01"),
        ("https://evil.example/", "/staff"),
        ("//evil.example/staff", "/staff"),
    ):
        other = staff_app.new_client()
        page = other.get("/staff/login")
        response = other.post(
            "/staff/login",
            data={
                "username": "alice",
                "password": PASSWORD,
                "login_token": login_token(page.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_a_hidden_origin_is_accepted_only_with_same_origin_fetch_metadata(
    staff_app: StaffApp,
) -> None:
    """Some privacy settings send ``Origin: null``; the browser's Sec-Fetch-Site decides."""
    add_user(staff_app.db, "alice")
    first, second = make_transfer(staff_app.db), make_transfer(staff_app.db)
    csrf = signed_in(staff_app.client, "alice")
    refused = staff_app.client.post(
        f"/staff/transfers/{first}/claim",
        data={"csrf_token": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    accepted = staff_app.client.post(
        f"/staff/transfers/{second}/claim",
        data={"csrf_token": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
