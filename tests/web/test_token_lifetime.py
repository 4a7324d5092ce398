"""API tokens end: every new one expires (the configured default unless its creator chooses),
and one made in the dashboard stops working when the admin who made it is disabled or no
longer an admin. In the store, on the admin page and with ``voiceagent staff token``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import CLINIC_MONDAY
from tests.web.conftest import BASE_URL, StaffApp
from tests.web.helpers import TESTS, add_user, csrf_of
from voiceagent.store import Database, generate_keyring
from voiceagent.store.models import ApiToken
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.sessions import PLAIN_COOKIE

LONG_PASSWORD = "a long enough password"
NEW_TOKEN = re.compile(r"data-new-token>(vat_[\w-]+)<")


def about(value: datetime | None, expected: datetime) -> bool:
    return value is not None and abs(value - expected) < timedelta(minutes=2)


# --- the store -------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'staff.db'}", generate_keyring(development=True))
    database.migrate()
    yield database
    database.dispose()


def test_a_dashboard_token_lapses_with_its_creators_authority(db: Database) -> None:
    """Disabled or demoted, the creator takes the token with them (and brings it back when
    enabled or promoted again); a command-line token has no creator to lose."""
    now = CLINIC_MONDAY
    with db.session() as session:
        staff_repo.create_user(
            session, TESTS, username="keeper", password=LONG_PASSWORD, role="admin"
        )
        ada = staff_repo.create_user(
            session, TESTS, username="ada", password=LONG_PASSWORD, role="admin"
        ).id
        made, secret = staff_repo.create_token(session, TESTS, role="admin", created_by=ada)
        _operator, operator_secret = staff_repo.create_token(session, TESTS, role="admin")

    def state() -> tuple[bool, str, bool]:
        with db.session() as session:
            row = session.get(ApiToken, made.id)
            assert row is not None
            return (
                staff_repo.find_token(session, secret, now=now) is not None,
                staff_repo.token_state(session, row, now=now),
                staff_repo.find_token(session, operator_secret, now=now) is not None,
            )

    assert state() == (True, "active", True)
    with db.session() as session:
        staff_repo.set_user_active(session, TESTS, ada, False)
    assert state() == (False, "creator disabled", True)
    with db.session() as session:
        staff_repo.set_user_active(session, TESTS, ada, True)
    assert state() == (True, "active", True)
    with db.session() as session:
        staff_repo.set_user_role(session, TESTS, ada, "staff")
    assert state() == (False, "creator not an admin", True)
    with db.session() as session:  # still found by its secret, to revoke it
        found = staff_repo.token_by_secret(session, secret)
        assert found is not None and found.id == made.id
        assert staff_repo.token_by_secret(session, operator_secret) is not None


# --- the admin page ----------------------------------------------------------------------------


def admin_browser(app: StaffApp, username: str) -> tuple[TestClient, str]:
    """A browser with a live admin session (opened in the store) and its CSRF token."""
    user_id = add_user(app.db, username, "admin")
    with app.db.session() as session:
        user = staff_repo.get_user(session, user_id)
        secret = staff_repo.open_session(
            session, user, lifetime=timedelta(hours=1), now=app.runtime.clock()
        )
    browser = TestClient(app.app, base_url=BASE_URL, cookies={PLAIN_COOKIE: secret})
    return browser, csrf_of(browser.get("/staff").text)


def create_on_page(browser: TestClient, csrf: str, label: str, days: str = "") -> str:
    page = browser.post(
        "/staff/admin/tokens",
        data={"csrf_token": csrf, "role": "admin", "label": label, "expires_days": days},
    )
    match = NEW_TOKEN.search(page.text)
    assert page.status_code == 200 and match, page.text[:300]
    return match.group(1)


def expiry_of(app: StaffApp, label: str) -> datetime | None:
    with app.db.session() as session:
        (token,) = staff_repo.find_tokens_by_label(session, label)
        return token.expires_at


def test_the_admin_page_gives_every_token_an_expiry(make_app: Callable[..., StaffApp]) -> None:
    app = make_app(api_token_default_days=7)
    browser, csrf = admin_browser(app, "ada")
    now = app.runtime.clock()
    create_on_page(browser, csrf, "default")
    create_on_page(browser, csrf, "zero", "0")
    create_on_page(browser, csrf, "chosen", "30")
    assert about(expiry_of(app, "default"), now + timedelta(days=7))
    assert about(expiry_of(app, "zero"), now + timedelta(days=7))  # 0 is not "never"
    assert about(expiry_of(app, "chosen"), now + timedelta(days=30))
    assert "empty for 7" in browser.get("/staff/admin/tokens").text


def test_a_token_made_on_the_page_stops_when_its_admin_is_disabled(staff_app: StaffApp) -> None:
    keeper, keeper_csrf = admin_browser(staff_app, "keeper")
    browser, csrf = admin_browser(staff_app, "ada")
    secret = create_on_page(browser, csrf, "reports")
    api = staff_app.new_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/admin/staff-users", headers=headers).status_code == 200
    with staff_app.db.session() as session:
        ada = staff_repo.find_user(session, "ada")
        assert ada is not None
    disabled = keeper.post(
        f"/staff/admin/users/{ada.id}/active",
        data={"csrf_token": keeper_csrf, "active": "no"},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    for path in ("/api/me", "/api/calls", "/api/admin/staff-users", "/metrics"):
        assert api.get(path, headers=headers).status_code == 401, path
    assert "creator disabled" in keeper.get("/staff/admin/tokens").text


# --- the command line --------------------------------------------------------------------------


def staff_command(
    app: StaffApp, cwd: Path, *args: str, code: int = 0, **env: str
) -> subprocess.CompletedProcess[str]:
    """``voiceagent staff ARGS`` against the app's database, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-c", "from voiceagent.cli import main; main()", "staff", *args],
        cwd=cwd,
        env={
            **os.environ,
            "VOICEAGENT_DATABASE_URL": app.settings.database_url,
            "VOICEAGENT_KEYRING": app.settings.keyring,
            "VOICEAGENT_LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def test_command_line_tokens_expire_by_default_and_never_only_when_asked(
    staff_app: StaffApp, tmp_path: Path
) -> None:
    def staff(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        return staff_command(
            staff_app, tmp_path, *args, code=code, VOICEAGENT_API_TOKEN_DEFAULT_DAYS="5"
        )

    now = datetime.now().astimezone()
    staff("token", "create", "--name", "default")
    staff("token", "create", "--name", "chosen", "--expires-days", "3")
    staff("token", "create", "--name", "forever", "--never-expires")
    both = staff("token", "create", "--expires-days", "3", "--never-expires", code=2)
    assert "contradict" in both.stderr
    assert about(expiry_of(staff_app, "default"), now + timedelta(days=5))
    assert about(expiry_of(staff_app, "chosen"), now + timedelta(days=3))
    assert expiry_of(staff_app, "forever") is None
    listed = staff("token", "list").stdout
    assert re.search(r"\tforever\tactive\texpires never$", listed, re.MULTILINE)
    chosen = expiry_of(staff_app, "chosen")
    assert chosen is not None and f"\tchosen\tactive\texpires {chosen.date()}" in listed


def test_the_command_line_revokes_a_lapsed_token_by_its_secret(
    staff_app: StaffApp, tmp_path: Path
) -> None:
    add_user(staff_app.db, "keeper", "admin")  # so that ada is not the last admin
    ada = add_user(staff_app.db, "ada", "admin")
    with staff_app.db.session() as session:
        made, secret = staff_repo.create_token(session, TESTS, role="admin", created_by=ada)
        staff_repo.set_user_active(session, TESTS, ada, False)
    listed = staff_command(staff_app, tmp_path, "token", "list").stdout
    assert f"{made.id}\tadmin\t-\tcreator disabled\t" in listed
    revoked = staff_command(staff_app, tmp_path, "token", "revoke", secret)
    assert "revoked 1 token(s)" in revoked.stdout
    with staff_app.db.session() as session:
        row = session.get(ApiToken, made.id)
        assert row is not None and row.revoked_at is not None
