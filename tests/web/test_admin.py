"""Admin pages: editing flows and the policy (problems at their lines, versions, roll
back), staff accounts, API tokens; and the `voiceagent staff` commands."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CLINIC_MONDAY
from tests.web.conftest import StaffApp
from tests.web.helpers import PASSWORD, add_user, audit_entries, sign_in, signed_in
from voiceagent.dialog.base import Utterance
from voiceagent.dialog.versions import history, record_versions
from voiceagent.store import Actor
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import staff as staff_repo

FAX = "flows/clinic_fax.yaml"


@pytest.fixture
def admin(make_app: Callable[..., StaffApp]) -> tuple[StaffApp, str]:
    """An app serving its own copy of the dialogs, versions recorded as at start-up."""
    app = make_app(own_dialogs=True)
    record_versions(app.db, app.dialogs, "startup")
    add_user(app.db, "ada", "admin")
    return app, signed_in(app.client, "ada")


def _ask_for_the_fax(app: StaffApp) -> str:
    """What a new call hears now (the running server's flows)."""
    call_sid = "CA" + secrets.token_hex(16)
    with app.db.session() as session:
        # The flows answer as on the clinic's Monday morning (the test apps' dialog clock).
        call_repo.open_call(
            session, Actor.system("tests"), call_sid=call_sid, started_at=CLINIC_MONDAY
        )
    dialog = app.runtime.dialogs.new_dialog(call_sid)
    dialog.greet()
    return " ".join(dialog.on_utterance(Utterance("What's your fax number?", 0.95, 1200)).say)


def test_a_broken_edit_shows_each_problem_at_its_line_and_changes_nothing(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    fax = app.dialogs / FAX
    original = fax.read_text()
    broken = original.replace("  - end: Our fax", "  - ends: Our fax")
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "ends:" in text)
    for action in ("validate", "save"):
        response = app.client.post(
            f"/staff/admin/flow/{action}", data={"csrf_token": csrf, "name": FAX, "text": broken}
        )
        assert response.status_code == 422, action
        page = response.text
        assert f'data-goto-line="{line}"' in page and f"Line {line}, column" in page
        assert ("nothing was saved" in page) == (action == "save")
        # The offending line is quoted with its number, and the edit is kept in the editor.
        assert re.search(rf'<span class="here"><span class="ln">\s*{line}</span>\s+- ends:', page)
        assert "- ends: Our fax" in page
    assert fax.read_text() == original
    assert len(history(app.db, FAX)) == 1
    assert "Our fax number is" in _ask_for_the_fax(app)


def test_a_yaml_syntax_error_is_reported_with_its_line(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    text = "flow: clinic_fax\ndescription: [unclosed\nsteps:\n  - end: hi\n"
    response = app.client.post(
        "/staff/admin/flow/validate", data={"csrf_token": csrf, "name": FAX, "text": text}
    )
    assert response.status_code == 422
    lines = [int(n) for n in re.findall(r'data-problem-line="(\d+)"', response.text)]
    assert lines and all(2 <= n <= 4 for n in lines)


def test_a_good_edit_is_checked_saved_as_a_version_and_served(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    fax = app.dialogs / FAX
    original = fax.read_text()
    edited = original.replace("Our fax number is", "You can fax us at")
    checked = app.client.post(
        "/staff/admin/flow/validate", data={"csrf_token": csrf, "name": FAX, "text": edited}
    )
    assert checked.status_code == 200 and "ready to save" in checked.text
    assert fax.read_text() == original  # checking writes nothing
    saved = app.client.post(
        "/staff/admin/flow/save",
        data={"csrf_token": csrf, "name": FAX, "text": edited.replace("\n", "\r\n")},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert (
        saved.headers["location"] == f"/staff/admin/flow?name={FAX.replace('/', '%2F')}&msg=saved"
    )
    assert fax.read_text() == edited  # line endings as the file had them
    versions = history(app.db, FAX)
    assert [(v.version, v.author, v.active) for v in versions] == [
        (1, "startup", False),
        (2, "ada", True),
    ]
    assert "+  - end: You can fax us at" in (versions[-1].diff or "")
    assert "You can fax us at" in _ask_for_the_fax(app)  # live at once
    page = app.client.get("/staff/admin/flow/history", params={"name": FAX}).text
    assert 'data-version="2"' in page and "You can fax us at" in page
    assert audit_entries(app.db, "dialogs.save", actor_id="ada")


def test_roll_back_brings_an_earlier_version_back_as_a_new_one(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    fax = app.dialogs / FAX
    original = fax.read_text()
    app.client.post(
        "/staff/admin/flow/save",
        data={"csrf_token": csrf, "name": FAX, "text": original.replace("Our fax", "Our new fax")},
    )
    assert "Our new fax" in _ask_for_the_fax(app)
    response = app.client.post(
        "/staff/admin/flow/rollback",
        data={"csrf_token": csrf, "name": FAX, "version": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "msg=rolled_back" in response.headers["location"]
    assert fax.read_text() == original
    versions = history(app.db, FAX)
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[-1].active and versions[-1].author == "ada (rollback to v1)"
    assert "Our fax number is" in _ask_for_the_fax(app)


def test_the_policy_is_edited_the_same_way(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    page = app.client.get("/staff/admin/policy")
    assert page.status_code == 200 and "policy.yaml" in page.text
    policy = (app.dialogs / "policy.yaml").read_text()
    response = app.client.post(
        "/staff/admin/flow/validate",
        data={"csrf_token": csrf, "name": "policy.yaml", "text": policy + "\nnot_a_section: 1\n"},
    )
    assert response.status_code == 422
    assert "data-problem-line" in response.text


def test_only_dialogs_files_can_be_written(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    for name in ("../pyproject.toml", "/etc/passwd", "flows/../../evil.yaml", "demo-clinic.yaml"):
        response = app.client.post(
            "/staff/admin/flow/save", data={"csrf_token": csrf, "name": name, "text": "x: 1\n"}
        )
        assert response.status_code == 404, name
    assert not (app.dialogs.parent / "evil.yaml").exists()


def test_a_new_flow_file_can_be_started_and_checked(admin) -> None:  # type: ignore[no-untyped-def]
    app, csrf = admin
    name = "flows/parking_info.yaml"
    page = app.client.get("/staff/admin/flow", params={"name": name})
    assert page.status_code == 200 and "(new file)" in page.text
    assert "flow: parking_info" in page.text  # a skeleton to fill in
    text = (
        "flow: parking_info\n"
        "description: Where to park.\n"
        "steps:\n"
        "  - end: Parking is free behind the building.\n"
        "    outcome: informed\n"
        "intent:\n"
        "  examples:\n"
        "    - Where do I park?\n"
        "    - Is there parking at the clinic?\n"
        "    - Can I park behind the building?\n"
    )
    checked = app.client.post(
        "/staff/admin/flow/validate", data={"csrf_token": csrf, "name": name, "text": text}
    )
    assert checked.status_code == 200 and "ready to save" in checked.text
    assert not (app.dialogs / name).exists()  # checking writes nothing
    elsewhere = app.client.get("/staff/admin/flow", params={"name": "secrets/x.yaml"})
    assert elsewhere.status_code == 404


def test_admin_manages_accounts(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "ada", "admin")
    client = staff_app.client
    csrf = signed_in(client, "ada")
    new = {"username": "Ben", "role": "staff", "password": PASSWORD, "password_again": PASSWORD}
    created = client.post(
        "/staff/admin/users", data={"csrf_token": csrf, **new}, follow_redirects=False
    )
    assert created.status_code == 303
    assert sign_in(staff_app.new_client(), "ben").status_code == 303
    duplicate = client.post("/staff/admin/users", data={"csrf_token": csrf, **new})
    assert duplicate.status_code == 422 and "is taken" in duplicate.text
    weak = client.post(
        "/staff/admin/users",
        data={
            "csrf_token": csrf,
            **new,
            "username": "cat",
            "password": "short",
            "password_again": "short",
        },
    )
    assert weak.status_code == 422 and "at least 12 characters" in weak.text
    with staff_app.db.session() as session:
        ben = staff_repo.find_user(session, "ben")
        ada = staff_repo.find_user(session, "ada")
    assert ben is not None and ada is not None
    promoted = client.post(
        f"/staff/admin/users/{ben.id}/role",
        data={"csrf_token": csrf, "role": "admin"},
        follow_redirects=False,
    )
    assert promoted.status_code == 303
    ben_client = staff_app.new_client()
    signed_in(ben_client, "ben")
    assert ben_client.get("/staff/admin/users").status_code == 200
    reset = client.post(
        f"/staff/admin/users/{ben.id}/password",
        data={"csrf_token": csrf, "password": "a brand new passphrase"},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    assert ben_client.get("/staff", follow_redirects=False).status_code == 303  # signed out
    assert sign_in(staff_app.new_client(), "ben", "a brand new passphrase").status_code == 303
    self_disable = client.post(
        f"/staff/admin/users/{ada.id}/active", data={"csrf_token": csrf, "active": "no"}
    )
    assert self_disable.status_code == 422
    actions = [e.action for e in audit_entries(staff_app.db) if e.actor_id == "ada"]
    for action in ("staff_user.create", "staff_user.role", "staff_user.password"):
        assert action in actions


def test_the_last_admin_cannot_be_demoted(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "ada", "admin")
    csrf = signed_in(staff_app.client, "ada")
    with staff_app.db.session() as session:
        ada = staff_repo.find_user(session, "ada")
    response = staff_app.client.post(
        f"/staff/admin/users/{ada.id}/role", data={"csrf_token": csrf, "role": "staff"}
    )
    assert response.status_code == 422 and "last active admin" in response.text


def test_a_token_is_shown_once_works_and_can_be_revoked(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "ada", "admin")
    client = staff_app.client
    csrf = signed_in(client, "ada")
    page = client.post(
        "/staff/admin/tokens",
        data={"csrf_token": csrf, "role": "staff", "label": "reports", "expires_days": "30"},
    )
    match = re.search(r"data-new-token>(vat_[\w-]+)<", page.text)
    assert page.status_code == 200 and match
    secret = match.group(1)
    assert secret not in client.get("/staff/admin/tokens").text  # never shown again
    api = staff_app.new_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/me", headers=headers).json()["role"] == "staff"
    with staff_app.db.session() as session:
        (token,) = staff_repo.list_tokens(session)
        assert token.token_hash != secret and token.expires_at is not None
    client.post(f"/staff/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert api.get("/api/me", headers=headers).status_code == 401


# --- the command line ----------------------------------------------------------------------


def test_staff_commands(staff_app: StaffApp, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VOICEAGENT_DATABASE_URL": staff_app.settings.database_url,
        "VOICEAGENT_KEYRING": staff_app.settings.keyring,
        "VOICEAGENT_LOG_LEVEL": "WARNING",
    }

    def run(
        *args: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-c", "from voiceagent.cli import main; main()", "staff", *args],
            cwd=tmp_path,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode == 0) == ok, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    created = run("add-user", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert "created admin account root" in created.stdout
    add_user(staff_app.db, "desk")
    token = run("token", "create", "--role", "admin", "--name", "checker").stdout
    assert re.fullmatch(r"vat_[\w-]{40,}\n", token)  # only the token
    headers = {"Authorization": f"Bearer {token.strip()}"}
    api = staff_app.new_client()
    users = api.get("/api/admin/staff-users", headers=headers).json()
    assert {(u["username"], u["role"]) for u in users} == {("root", "admin"), ("desk", "staff")}
    assert "revoked 1 token(s)" in run("token", "revoke", "--name", "checker").stdout
    assert api.get("/api/calls", headers=headers).status_code == 401
    assert sign_in(staff_app.client, "desk").status_code == 303
    assert "disabled desk" in run("disable-user", "desk").stdout
    assert staff_app.client.get("/staff", follow_redirects=False).status_code == 303
    assert sign_in(staff_app.new_client(), "desk").status_code == 401
