"""Accounts, tokens, sessions and the sign-in throttle in the store, on SQLite and (when
VOICEAGENT_TEST_POSTGRES_URL is set) PostgreSQL: what every replica shares."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.conftest import CLINIC_MONDAY, isolated_settings
from tests.web.conftest import BASE_URL, DIALOGS
from tests.web.helpers import TESTS, add_user, make_call, make_transfer, signed_in
from voiceagent.callrecords import CallRecords
from voiceagent.clock import system_clock
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.store import Database, generate_keyring
from voiceagent.store.repos import staff as staff_repo
from voiceagent.store.seed import seed_file
from voiceagent.web.app import create_app

PG_URL = os.environ.get("VOICEAGENT_TEST_POSTGRES_URL")
PG_SKIP = "VOICEAGENT_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped"


@contextmanager
def postgres_database() -> Iterator[Database]:
    """A migrated database in a schema of its own, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"test_staff_{uuid.uuid4().hex[:12]}"
    libpq = make_url(PG_URL).set(drivername="postgresql", query={})
    conninfo = libpq.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    database = Database(url, generate_keyring(development=True))
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgres":
        with postgres_database() as database:
            yield database
        return
    database = Database(f"sqlite:///{tmp_path / 'staff.db'}", generate_keyring(development=True))
    database.migrate()
    yield database
    database.dispose()


def test_accounts_and_passwords(db: Database) -> None:
    with db.session() as session:
        user = staff_repo.create_user(
            session, TESTS, username=" Alice ", password="correct horse battery", role="admin"
        )
        assert user.username == "alice" and user.password_hash.startswith("$argon2id$")
    with db.session() as session:
        found = staff_repo.find_user(session, "ALICE")
        assert found is not None
        assert staff_repo.check_password(session, found, "correct horse battery")
        assert not staff_repo.check_password(session, found, "wrong horse battery")
        assert not staff_repo.check_password(session, None, "correct horse battery")
        with pytest.raises(staff_repo.AccountError, match="taken"):
            staff_repo.create_user(session, TESTS, username="alice", password="x" * 20)
        with pytest.raises(staff_repo.AccountError, match="must not contain the username"):
            staff_repo.create_user(session, TESTS, username="bob", password="bob-password-123")
        with pytest.raises(staff_repo.AccountError, match="last active admin"):
            staff_repo.set_user_active(session, TESTS, found.id, False)


def test_sessions_are_stored_as_digests_and_end_with_the_account(db: Database) -> None:
    with db.session() as session:
        user = staff_repo.create_user(session, TESTS, username="bob", password="a" * 4 + "bcd" * 4)
        secret = staff_repo.open_session(
            session, user, lifetime=timedelta(hours=1), now=CLINIC_MONDAY
        )
        user_id = user.id
    with db.session() as session:
        row, found = staff_repo.load_session(session, secret) or (None, None)
        assert row is not None and found is not None and found.id == user_id
        assert row.id_hash == staff_repo.digest(secret) != secret
        assert staff_repo.load_session(session, secret + "x") is None
    with db.session() as session:
        staff_repo.set_user_active(session, TESTS, user_id, False)
    with db.session() as session:
        assert staff_repo.load_session(session, secret) is None
        assert staff_repo.count_sessions(session, user_id) == 0


def test_stale_sessions_are_purged(db: Database) -> None:
    now = CLINIC_MONDAY
    with db.session() as session:
        user = staff_repo.create_user(session, TESTS, username="carol", password="c" * 12 + "xyz")
        old = staff_repo.open_session(
            session, user, lifetime=timedelta(hours=1), now=now - timedelta(hours=2)
        )
        fresh = staff_repo.open_session(session, user, lifetime=timedelta(hours=1), now=now)
    with db.session() as session:
        assert staff_repo.purge_sessions(session, idle=timedelta(minutes=15), now=now) == 1
        assert staff_repo.load_session(session, old) is None
        assert staff_repo.load_session(session, fresh) is not None


def test_tokens(db: Database) -> None:
    now = CLINIC_MONDAY
    with db.session() as session:
        token, secret = staff_repo.create_token(session, TESTS, role="staff", label="reports")
        _expired, expired = staff_repo.create_token(
            session, TESTS, role="admin", expires_at=now - timedelta(minutes=1)
        )
    with db.session() as session:
        found = staff_repo.find_token(session, secret, now=now)
        assert found is not None and found.id == token.id and found.token_hash != secret
        assert staff_repo.find_token(session, expired, now=now) is None
        staff_repo.revoke_token(session, TESTS, token.id, now=now)
    with db.session() as session:
        assert staff_repo.find_token(session, secret, now=now) is None


def test_failed_sign_ins_are_counted_per_pair_and_address_on_the_runtimes_clock(
    db: Database,
) -> None:
    """Counted from the audit log with the time the runtime gave each failure, not the log's
    own (real-time) stamp: CLINIC_MONDAY is far from today, as under a moved dev clock."""
    now, window = CLINIC_MONDAY, timedelta(minutes=15)
    with db.session() as session:
        user = staff_repo.create_user(session, TESTS, username="dana", password="d" * 12 + "xyz")
        for minutes in (10, 5, 1):
            staff_repo.record_login_failure(
                session,
                username="Dana",
                ip="10.0.0.9",
                user_id=user.id,
                why="wrong_password",
                now=now - timedelta(minutes=minutes),
            )
        staff_repo.record_login_failure(
            session, username="dana", ip="10.0.0.7", user_id=user.id, why="wrong_password", now=now
        )

    def pair(session: Session, ip: str, at: datetime = now, limit: int = 10) -> list[datetime]:
        return staff_repo.pair_failures(session, " DANA", ip, now=at, window=window, limit=limit)

    def address(session: Session, ip: str, at: datetime = now) -> list[datetime]:
        return staff_repo.address_failures(session, ip, now=at, window=window, limit=10)

    with db.session() as session:
        expected = [now - timedelta(minutes=m) for m in (1, 5, 10)]  # newest first
        assert pair(session, "10.0.0.9") == expected
        assert pair(session, "10.0.0.9", limit=2) == expected[:2]
        assert pair(session, "10.0.0.7") == [now]  # another address is another pair
        assert address(session, "10.0.0.9") == expected and address(session, "10.0.0.7") == [now]
        later = now + timedelta(minutes=12)  # the two oldest have left the window
        assert pair(session, "10.0.0.9", later) == expected[:1]
        assert pair(session, "10.0.0.9", now + timedelta(days=1)) == []
        assert pair(session, "10.0.0.9", now - timedelta(days=1)) == []  # a clock set back
        staff_repo.record_login(session, user, ip="10.0.0.9")
    with db.session() as session:
        # A successful sign-in clears its own pair only, and never the address's count.
        assert pair(session, "10.0.0.9") == [] and pair(session, "10.0.0.7") == [now]
        assert address(session, "10.0.0.9") == expected


@pytest.mark.postgres
def test_the_dashboard_api_and_live_queue_on_postgresql(
    speech_services: SpeechServices, shared_dialogs: FlowDialogFactory
) -> None:
    """One pass over sign-in, the pages, the API and the live queue's poll on PostgreSQL."""
    with postgres_database() as database:
        seed_file(database, DIALOGS / "demo-clinic.yaml", today=CLINIC_MONDAY.date())
        settings = isolated_settings(
            database_url=database.url.render_as_string(hide_password=False),
            reload_dialogs=False,
            public_base_url=BASE_URL,
        )
        runtime = Runtime(
            settings,
            speech=speech_services,
            db=database,
            calls=CallRecords(database, system_clock),
            dialogs=shared_dialogs,
            owns_speech=False,
            clock=system_clock,
        )
        add_user(database, "alice")
        call = make_call(database, transferred=True)
        transfer_id = make_transfer(database, call=call, urgency="urgent")
        with TestClient(create_app(runtime=runtime), base_url=BASE_URL) as client:
            csrf = signed_in(client, "alice")
            assert transfer_id in client.get("/staff").text
            assert call.call_sid in client.get("/staff/calls").text
            body = client.get(f"/api/calls/{call.call_sid}").json()
            assert body["transcript"] and body["reason"] == "caller_request"
            claimed = client.post(
                f"/staff/transfers/{transfer_id}/claim",
                data={"csrf_token": csrf},
                follow_redirects=False,
            )
            assert "msg=claimed" in claimed.headers["location"]
            live = client.app.state.web.live
            client.portal.call(live.poll_once)
            assert live.counts.active_transfers == 1 and live.kpis is not None
            assert live.kpis.calls == 1 and live.kpis.transferred == 1
