"""The database locked or unavailable in the middle of a call: writes wait and retry, the
caller is never left in silence, and what could not be written is written once it can."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import ClinicTemplate
from tests.conversations.helpers import place_call
from voiceagent.clock import fixed_clock
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.base import Transfer, Utterance
from voiceagent.dialog.conversations import DEFAULT_NOW
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.store import Database
from voiceagent.store.models import RefillRequest
from voiceagent.store.models import Transfer as TransferRow

NOW = DEFAULT_NOW.replace(tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def clinic(clinic_template: ClinicTemplate, tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "clinic.db"
    shutil.copyfile(clinic_template.path, path)
    # A short busy timeout and retry window, so a held lock shows up in seconds.
    db = Database(
        f"sqlite:///{path}", clinic_template.keyring, busy_timeout_ms=100, retry_seconds=1.0
    )
    yield db, path
    db.dispose()


@contextmanager
def locked(path: Path, seconds: float | None = None) -> Iterator[None]:
    """Another process holds the database's write lock for ``seconds``, or (None) until
    the block ends, however long a loaded machine makes it."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        connection.execute("COMMIT")
        connection.close()

    timer = threading.Timer(seconds, release) if seconds is not None else None
    if timer is not None:
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        else:
            release()


def start_call(db: Database) -> tuple[FlowDialogFactory, object]:
    factory = FlowDialogFactory(db, REPO_ROOT / "dialogs", clock=fixed_clock(NOW))
    return factory, place_call(db, factory, "+15551234567")


def say(dialog, text: str):  # type: ignore[no-untyped-def]
    return dialog.on_utterance(Utterance(text, 0.95, 1200))


def test_a_briefly_locked_database_only_delays_the_answer(clinic) -> None:  # type: ignore[no-untyped-def]
    db, path = clinic
    _factory, dialog = start_call(db)
    for line in ("I need a refill.", "Maria Gonzalez", "March 3rd, 1982", "lisinopril"):
        say(dialog, line)
    with locked(path, 0.6):  # longer than the busy timeout, shorter than the retries
        reply = say(dialog, "yes")
    assert "refill request" in " ".join(reply.say)
    with db.session() as session:
        assert session.scalars(select(RefillRequest)).all()


def test_a_database_that_stays_down_gets_an_apology_a_transfer_and_a_late_record(clinic) -> None:  # type: ignore[no-untyped-def]
    db, path = clinic
    factory, dialog = start_call(db)
    factory.desk._deferred_retry_seconds = 0.2
    say(dialog, "I need a refill.")
    say(dialog, "Maria Gonzalez")
    with locked(path):  # outlasts every retry
        reply = say(dialog, "March 3rd, 1982")  # verifying identity needs the database
        spoken = " ".join(reply.say)
        assert "system is having trouble" in spoken and "connecting you" in spoken
        assert isinstance(reply.action, Transfer)
        assert reply.action.reason_code == "system_error" and reply.action.handoff_id is None
        assert factory.desk.deferred == 1
    deadline = time.monotonic() + 10
    while factory.desk.deferred:
        assert time.monotonic() < deadline, "the deferred handoff was never written"
        time.sleep(0.1)
    with db.session() as session:
        rows = session.scalars(select(TransferRow)).all()
        assert [r.reason_code for r in rows] == ["system_error"]
