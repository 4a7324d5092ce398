"""Staff sessions under attack, over the real server: what tests/web/test_auth.py leaves out.

That file covers a new id per sign-in, sign-out and disable ending page access, idle and
absolute timeouts on pages, CSRF on one route, and the headers of a few pages. Here: session
fixation and the CSRF token's rotation, every way in (pages, API, event stream, try-call
socket) closing together on sign-out, disable, demotion and timeouts, CSRF on every
state-changing route and every form (both generated from the app's routes), and the
session's configured lifetimes. Security headers on every route are checked by the
authorization matrix.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from telephony.browser.routes import SOCKET_PATH
from tests.security import callers
from tests.security.callers import Credentials, new_session, send
from tests.security.test_authorization_matrix import route_keys
from tests.web.helpers import (
    PASSWORD,
    TESTS,
    add_user,
    login_token,
    make_call,
    make_callback,
    make_insurance_change,
    make_refill,
    make_transfer,
)
from voiceagent.dialog.versions import record_versions
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store.models import AuditHead, StaffSession
from voiceagent.store.repos import staff as staff_repo
from voiceagent.store.repos.staff import digest
from voiceagent.web.app import create_app
from voiceagent.web.sessions import PLAIN_COOKIE


@pytest.fixture(scope="module")
def admin(clinic: Sandbox) -> str:
    """The admin who changes other accounts (never the one under test)."""
    add_user(clinic.runtime.db, "sess-boss", "admin")
    return "sess-boss"


def _user_id(clinic: Sandbox, username: str) -> str:
    with clinic.runtime.db.session() as session:
        user = staff_repo.find_user(session, username)
        assert user is not None
        return user.id


def _session_row(clinic: Sandbox, credentials: Credentials) -> StaffSession | None:
    assert credentials.cookie
    with clinic.runtime.db.session() as session:
        return session.get(StaffSession, digest(credentials.cookie))


def _age(clinic: Sandbox, credentials: Credentials, **values: object) -> None:
    assert credentials.cookie
    with clinic.runtime.db.session() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == digest(credentials.cookie))
            .values(**values)
        )


def every_way_in(clinic: Sandbox, credentials: Credentials) -> dict[str, str]:
    """How each door answers this session: a page, a form post, the API, the event stream
    and the try-call socket."""
    return {
        "page": callers.outcome(send(clinic, credentials, "GET", "/staff/callbacks")),
        "post": callers.outcome(
            send(clinic, credentials, "POST", f"/staff/callbacks/{'0' * 32}/done")
        ),
        "api": callers.outcome(send(clinic, credentials, "GET", "/api/me")),
        "events": callers.event_stream(clinic, credentials, "/staff/events")[0],
        "socket": callers.try_call(clinic, credentials, SOCKET_PATH),
    }


SHUT = {"page": "login", "post": "login", "api": "401", "events": "ended", "socket": "1008"}


# --- rotation -----------------------------------------------------------------------------------


def test_a_planted_session_id_is_never_adopted(clinic: Sandbox) -> None:
    """Session fixation: a cookie set before sign-in (by an attacker, say) is replaced."""
    add_user(clinic.runtime.db, "sess-fix")
    planted = "attacker-chosen-" + "a" * 27
    with httpx.Client(base_url=clinic.url) as browser:
        browser.cookies.set(PLAIN_COOKIE, planted)
        form = browser.get("/staff/login")
        response = browser.post(
            "/staff/login",
            data={
                "username": "sess-fix",
                "password": PASSWORD,
                "login_token": login_token(form.text),
            },
        )
        assert response.status_code == 303
        issued = response.cookies[PLAIN_COOKIE]
    assert issued != planted and len(issued) >= 43
    assert every_way_in(clinic, Credentials(cookie=planted, csrf="0" * 64)) == SHUT


def test_signing_in_again_rotates_the_session_and_its_csrf_token(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-rot", "admin")
    first = new_session(clinic, "sess-rot")
    with httpx.Client(base_url=clinic.url) as browser:
        browser.cookies.set(PLAIN_COOKIE, str(first.cookie))  # the same browser signs in again
        form = browser.get("/staff/login")
        assert "signed in as" in form.text.lower()
        again = browser.post(
            "/staff/login",
            data={
                "username": "sess-rot",
                "password": PASSWORD,
                "login_token": login_token(form.text),
            },
        )
        second_cookie = again.cookies[PLAIN_COOKIE]
    second = callers.session_of(clinic, second_cookie)
    assert second.cookie != first.cookie and second.csrf != first.csrf
    assert _session_row(clinic, first) is None
    assert every_way_in(clinic, first) == SHUT
    # The new session refuses the old page's token: forms left open from before are dead.
    stale = Credentials(cookie=second.cookie, csrf=first.csrf)
    assert send(clinic, stale, "POST", f"/staff/callbacks/{'0' * 32}/done").status_code == 403
    assert callers.try_call(clinic, stale, SOCKET_PATH) == "1008"
    assert callers.outcome(send(clinic, second, "GET", "/api/me")) == "200"


def test_another_user_signing_in_on_the_same_browser_ends_the_first_session(
    clinic: Sandbox,
) -> None:
    """The shared front-desk PC: Bob signs in over Alice's session; hers is over."""
    add_user(clinic.runtime.db, "sess-alice")
    add_user(clinic.runtime.db, "sess-bob")
    alice = new_session(clinic, "sess-alice")
    with httpx.Client(base_url=clinic.url) as browser:
        browser.cookies.set(PLAIN_COOKIE, str(alice.cookie))
        form = browser.get("/staff/login")
        browser.post(
            "/staff/login",
            data={
                "username": "sess-bob",
                "password": PASSWORD,
                "login_token": login_token(form.text),
            },
        )
        me = browser.get("/api/me").json()
    assert me["username"] == "sess-bob"
    assert _session_row(clinic, alice) is None
    assert every_way_in(clinic, alice)["api"] == "401"


# --- invalidation -------------------------------------------------------------------------------


def test_signing_out_closes_every_way_in(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-out", "admin")
    me = new_session(clinic, "sess-out")
    signed_in = {"page": "200", "post": "303", "api": "200", "events": "open", "socket": "open"}
    assert every_way_in(clinic, me) == signed_in
    response = send(clinic, me, "POST", "/staff/logout")
    assert response.headers["location"] == "/staff/login?msg=logged_out"
    assert every_way_in(clinic, me) == SHUT


def test_disabling_an_account_closes_every_way_in(clinic: Sandbox, admin: str) -> None:
    add_user(clinic.runtime.db, "sess-gone", "admin")
    victim = new_session(clinic, "sess-gone")
    boss = new_session(clinic, admin)
    user_id = _user_id(clinic, "sess-gone")
    done = send(clinic, boss, "POST", f"/staff/admin/users/{user_id}/active", {"active": "no"})
    assert done.status_code == 303
    assert every_way_in(clinic, victim) == SHUT


def test_demoting_an_admin_takes_effect_on_the_live_session(clinic: Sandbox, admin: str) -> None:
    add_user(clinic.runtime.db, "sess-demoted", "admin")
    demoted = new_session(clinic, "sess-demoted")
    assert callers.outcome(send(clinic, demoted, "GET", "/staff/admin/users")) == "200"
    boss = new_session(clinic, admin)
    user_id = _user_id(clinic, "sess-demoted")
    send(clinic, boss, "POST", f"/staff/admin/users/{user_id}/role", {"role": "staff"})
    assert callers.outcome(send(clinic, demoted, "GET", "/staff/admin/users")) == "403"
    assert callers.outcome(send(clinic, demoted, "GET", "/api/admin/tokens")) == "403"
    created = send(clinic, demoted, "POST", "/staff/admin/tokens", {"role": "admin"})
    assert created.status_code == 403
    assert callers.try_call(clinic, demoted, SOCKET_PATH) == "1008"
    assert callers.outcome(send(clinic, demoted, "GET", "/staff")) == "200"  # still staff


# --- timeouts -----------------------------------------------------------------------------------


def test_the_session_lifetimes_are_short_and_the_cookie_ends_with_the_session(
    clinic: Sandbox,
) -> None:
    settings = clinic.settings
    assert settings.session_idle_timeout_seconds <= 30 * 60
    assert settings.session_absolute_timeout_seconds <= 12 * 3600
    add_user(clinic.runtime.db, "sess-life")
    with httpx.Client(base_url=clinic.url) as browser:
        form = browser.get("/staff/login")
        response = browser.post(
            "/staff/login",
            data={
                "username": "sess-life",
                "password": PASSWORD,
                "login_token": login_token(form.text),
            },
        )
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith(PLAIN_COOKIE)
    )
    assert f"max-age={settings.session_absolute_timeout_seconds}" in cookie.lower()
    assert {"httponly", "samesite=strict"} <= {p.strip().lower() for p in cookie.split(";")}


def test_idle_and_absolute_timeouts_close_every_way_in(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-idle", "admin")
    add_user(clinic.runtime.db, "sess-long", "admin")
    idle = timedelta(seconds=clinic.settings.session_idle_timeout_seconds)
    dozing, busy = new_session(clinic, "sess-idle"), new_session(clinic, "sess-long")
    _age(clinic, dozing, last_seen_at=clinic.runtime.clock() - idle - timedelta(seconds=1))
    _age(clinic, busy, expires_at=clinic.runtime.clock() - timedelta(seconds=1))
    for credentials in (dozing, busy):
        assert callers.outcome(send(clinic, credentials, "GET", "/api/me")) == "401"
        assert _session_row(clinic, credentials) is None  # gone, not just refused
        assert every_way_in(clinic, credentials) == SHUT


def test_use_counts_as_activity_but_a_listening_dashboard_does_not(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-ping")
    me = new_session(clinic, "sess-ping")
    long_ago = clinic.runtime.clock() - timedelta(
        seconds=clinic.settings.session_idle_timeout_seconds // 2
    )
    _age(clinic, me, last_seen_at=long_ago)
    assert callers.event_stream(clinic, me, "/staff/events")[0] == "open"
    row = _session_row(clinic, me)
    assert row is not None and row.last_seen_at == long_ago  # listening is not activity
    assert callers.outcome(send(clinic, me, "GET", "/staff/session/ping")) == "204"
    row = _session_row(clinic, me)
    assert row is not None and clinic.runtime.clock() - row.last_seen_at < timedelta(seconds=30)


# --- CSRF on every state-changing route and every form ------------------------------------------


@dataclass(frozen=True)
class Change:
    """A real state change: the route's target and form, made for this test."""

    target: str
    form: dict[str, str]
    changes_state: bool = True  # validate-only posts change nothing even when accepted


def live_changes(clinic: Sandbox) -> dict[str, Callable[[], Change]]:
    """A real, accepted request for every state-changing route of the dashboard."""
    db = clinic.runtime.db
    dialogs = clinic.settings.dialogs_dir
    fax = (dialogs / "flows/clinic_fax.yaml").read_text()

    numbers = itertools.count(1)

    def user() -> str:
        return add_user(db, f"sess-target-{next(numbers)}")

    def token() -> str:
        with db.session() as session:
            return staff_repo.create_token(session, TESTS, role="staff")[0].id

    def versions() -> str:
        record_versions(db, dialogs, "tests")
        return "1"

    return {
        "/staff/logout": lambda: Change("/staff/logout", {}),
        "/staff/transfers/{transfer_id}/claim": lambda: Change(
            f"/staff/transfers/{make_transfer(db)}/claim", {}
        ),
        "/staff/transfers/{transfer_id}/done": lambda: Change(
            f"/staff/transfers/{make_transfer(db)}/done", {"outcome": "done"}
        ),
        "/staff/callbacks/{callback_id}/done": lambda: Change(
            f"/staff/callbacks/{make_callback(db)}/done", {"note": "done"}
        ),
        "/staff/refills/{request_id}": lambda: Change(
            f"/staff/refills/{make_refill(db)}", {"decision": "approved"}
        ),
        "/staff/insurance/{change_id}": lambda: Change(
            f"/staff/insurance/{make_insurance_change(db)}", {"decision": "rejected"}
        ),
        "/staff/admin/flows/validate": lambda: Change(
            "/staff/admin/flows/validate", {}, changes_state=False
        ),
        "/staff/admin/flow/validate": lambda: Change(
            "/staff/admin/flow/validate",
            {"name": "flows/clinic_fax.yaml", "text": fax},
            changes_state=False,
        ),
        "/staff/admin/flow/save": lambda: Change(
            "/staff/admin/flow/save",
            {"name": "flows/clinic_fax.yaml", "text": fax + "# checked by the CSRF test\n"},
        ),
        "/staff/admin/flow/rollback": lambda: Change(
            "/staff/admin/flow/rollback", {"name": "flows/clinic_fax.yaml", "version": versions()}
        ),
        "/staff/admin/users": lambda: Change(
            "/staff/admin/users",
            {
                "username": "sess-made-by-form",
                "role": "staff",
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        ),
        "/staff/admin/users/{user_id}/role": lambda: Change(
            f"/staff/admin/users/{user()}/role", {"role": "admin"}
        ),
        "/staff/admin/users/{user_id}/active": lambda: Change(
            f"/staff/admin/users/{user()}/active", {"active": "no"}
        ),
        "/staff/admin/users/{user_id}/password": lambda: Change(
            f"/staff/admin/users/{user()}/password", {"password": "another long passphrase"}
        ),
        "/staff/admin/tokens": lambda: Change("/staff/admin/tokens", {"role": "staff"}),
        "/staff/admin/tokens/{token_id}/revoke": lambda: Change(
            f"/staff/admin/tokens/{token()}/revoke", {}
        ),
    }


# State changes that have their own cross-site defence instead of the session's CSRF token.
OWN_DEFENCE = {
    "/staff/login": "the sign-in form's double-submit token (tests/web/test_auth.py)",
    "/twilio/voice": "X-Twilio-Signature",
    "/twilio/status": "X-Twilio-Signature",
    "/twilio/transfer/whisper": "X-Twilio-Signature",
    "/twilio/transfer/result": "X-Twilio-Signature",
}


def state_changing_routes(clinic: Sandbox) -> list[str]:
    keys = route_keys(create_app(runtime=clinic.runtime))
    return sorted(path for method, path in keys if method not in ("GET", "HEAD", "WS"))


def _state(clinic: Sandbox) -> tuple[int, str]:
    """The audit chain's head (every state change is audited) and the dialogs files."""
    with clinic.runtime.db.session() as session:
        head = session.scalar(select(AuditHead.seq))
    files = hashlib.sha256()
    for path in sorted(Path(clinic.settings.dialogs_dir).rglob("*.yaml")):
        files.update(path.read_bytes())
    return int(head or 0), files.hexdigest()


def test_every_state_changing_route_needs_this_sessions_csrf_token_from_our_origin(
    clinic: Sandbox,
) -> None:
    add_user(clinic.runtime.db, "sess-csrf", "admin")
    add_user(clinic.runtime.db, "sess-other", "admin")
    changes = live_changes(clinic)
    routes = state_changing_routes(clinic)
    unchecked = set(routes) - set(changes) - set(OWN_DEFENCE)
    assert unchecked == set(), "state-changing routes without a CSRF probe"
    others_token = new_session(clinic, "sess-other").csrf
    me = new_session(clinic, "sess-csrf")
    for path in (p for p in routes if p in changes):
        if _session_row(clinic, me) is None:  # signed out by the previous route
            me = new_session(clinic, "sess-csrf")
        change = changes[path]()
        before = _state(clinic)
        attempts = {
            "no token": (Credentials(cookie=me.cookie), {}),
            "wrong token": (Credentials(cookie=me.cookie, csrf="0" * 64), {}),
            "another session's token": (Credentials(cookie=me.cookie, csrf=others_token), {}),
            "another site": (me, {"Origin": "https://evil.example"}),
            "cross-site fetch": (me, {"Sec-Fetch-Site": "cross-site"}),
        }
        for why, (credentials, headers) in attempts.items():
            response = send(clinic, credentials, "POST", change.target, change.form, headers)
            assert response.status_code == 403, f"{path} with {why}"
            assert "Form expired" in response.text
        assert _state(clinic) == before, f"{path} changed something without a valid token"
        assert callers.outcome(send(clinic, me, "GET", "/staff/session/ping")) == "204"
        accepted = send(clinic, me, "POST", change.target, change.form, {"Origin": clinic.url})
        assert accepted.status_code in (200, 303), f"{path}: {accepted.status_code}"
        if change.changes_state:
            assert _state(clinic) != before, f"{path} was accepted but changed nothing"


def test_the_csrf_token_also_works_as_a_header_for_scripts(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-fetch")
    me = new_session(clinic, "sess-fetch")
    callback = make_callback(clinic.runtime.db)
    target = f"/staff/callbacks/{callback}/done"
    bare = Credentials(cookie=me.cookie)
    wrong = send(clinic, bare, "POST", target, {}, {"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    right = send(clinic, bare, "POST", target, {}, {"X-CSRF-Token": str(me.csrf)})
    assert right.status_code == 303 and "callback_done" in right.headers["location"]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            method = (found.get("method") or "get").lower()
            self.forms.append({"method": method, "action": found.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and found.get("type") == "hidden":
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            fields[found.get("name")] = found.get("value")


def _pages(clinic: Sandbox) -> Iterator[str]:
    """Every HTML page an admin can open, from the route table, with a record behind each
    list so its forms are rendered."""
    db = clinic.runtime.db
    call = make_call(db, transferred=True)
    make_transfer(db, call=call)
    make_callback(db)
    make_refill(db)
    make_insurance_change(db)
    with db.session() as session:
        staff_repo.create_token(session, TESTS, role="staff")
    concrete = {
        "/staff/calls/{call_sid}": f"/staff/calls/{call.call_sid}",
        "/staff/admin/flow": "/staff/admin/flow?name=flows/clinic_fax.yaml",
        "/staff/admin/flow/history": "/staff/admin/flow/history?name=flows/clinic_fax.yaml",
    }
    not_pages = {
        "/",
        "/openapi.json",
        "/healthz",
        "/metrics",
        "/staff/events",
        "/staff/session/ping",
    }
    for method, path in sorted(route_keys(create_app(runtime=clinic.runtime))):
        if method != "GET" or path in not_pages or path.startswith(("/api/", "/staff/static/")):
            continue
        yield concrete.get(path, path)


def test_every_form_on_every_page_carries_the_csrf_token(clinic: Sandbox) -> None:
    add_user(clinic.runtime.db, "sess-forms", "admin")
    me = new_session(clinic, "sess-forms")
    record_versions(clinic.runtime.db, clinic.settings.dialogs_dir, "tests")  # a history row
    posts = {p for p in state_changing_routes(clinic)}
    seen = 0
    for page in _pages(clinic):
        response = send(clinic, me, "GET", page)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        parser = _Forms()
        parser.feed(response.text)
        for form in parser.forms:
            if form["method"] != "post":
                continue
            seen += 1
            action = urlsplit(str(form["action"])).path
            fields = form["fields"]
            assert isinstance(fields, dict)
            if action == "/staff/login":
                assert fields.get("login_token"), page
                continue
            assert fields.get("csrf_token") == me.csrf, f"a form on {page} posting to {action}"
            assert any(re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", p), action) for p in posts), action
    assert seen >= 15  # claim, done, sign-out, work queues, flows, users, tokens...
