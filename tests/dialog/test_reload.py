"""Admins edit flows while calls are served: a bad edit is refused and the last good version
keeps serving; a good edit is served next and stored as a version that can be rolled back."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CLINIC_MONDAY, sandbox_settings_for
from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.clock import fixed_clock
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.base import Utterance
from voiceagent.dialog.versions import history, rollback, write_version
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.simulate.sandbox import (
    Sandbox,
    prepare_database,
    running_sandbox,
    sandbox_settings,
)
from voiceagent.store import Actor
from voiceagent.store.repos import calls as call_repo

FAX = "flows/clinic_fax.yaml"


@pytest.fixture
def served(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> Iterator[tuple[Sandbox, Path]]:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs)
    settings = sandbox_settings_for(
        twilio_api, dialogs_dir=dialogs, clinic_file=dialogs / "demo-clinic.yaml"
    )
    with running_sandbox(settings, tmp_path / "clinic", speech_services, now=CLINIC_MONDAY) as box:
        yield box, dialogs


def ask_for_the_fax(runtime: Runtime) -> str:
    """What the server's current flows answer, as a new call would hear it."""
    call_sid = "CA" + secrets.token_hex(16)
    with runtime.db.session() as session:
        call_repo.open_call(
            session, Actor.system("tests"), call_sid=call_sid, started_at=runtime.clock()
        )
    dialog = runtime.dialogs.new_dialog(call_sid)
    dialog.greet()
    reply = dialog.on_utterance(Utterance("What's your fax number?", 0.95, 1200))
    return " ".join(reply.say)


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server did not pick up the change"
        time.sleep(0.1)


def test_bad_edit_keeps_the_old_flow_and_a_fix_is_served(served: tuple[Sandbox, Path]) -> None:
    box, dialogs = served
    fax = dialogs / FAX
    original = fax.read_text()
    assert "Our fax number is" in ask_for_the_fax(box.runtime)
    wait_until(lambda: len(history(box.runtime.db, FAX)) == 1)  # recorded at start-up

    fax.write_text(original.replace("Our fax number is", "Our fax {{ number is"))
    wait_until(lambda: bool(box.runtime.dialog_problems))
    problems = [str(p) for p in box.runtime.dialog_problems]
    assert any("clinic_fax.yaml" in p and "bad template" in p for p in problems)
    assert "Our fax number is" in ask_for_the_fax(box.runtime)  # still the last good version
    assert len(history(box.runtime.db, FAX)) == 1  # a rejected edit is not a version

    fax.write_text(original.replace("Our fax number is", "You can send us a fax at"))
    wait_until(lambda: not box.runtime.dialog_problems and len(history(box.runtime.db, FAX)) == 2)
    assert "You can send us a fax at" in ask_for_the_fax(box.runtime)
    latest = history(box.runtime.db, FAX)[-1]
    assert latest.active and latest.author == "file change"
    assert "+  - end: You can send us a fax at" in (latest.diff or "")


def test_versions_are_written_validated_and_rolled_back(served: tuple[Sandbox, Path]) -> None:
    box, dialogs = served
    db = box.runtime.db
    fax = dialogs / FAX
    original = fax.read_text()
    wait_until(lambda: len(history(db, FAX)) == 1)

    problems = write_version(db, dialogs, FAX, original.replace("end:", "ends:"), "admin")
    assert problems and fax.read_text() == original  # refused, file untouched

    assert (
        write_version(db, dialogs, FAX, original.replace("Our fax", "Our new fax"), "admin") == []
    )
    wait_until(lambda: "Our new fax" in ask_for_the_fax(box.runtime))
    assert [v.author for v in history(db, FAX)] == ["startup", "admin"]

    assert rollback(db, dialogs, FAX, 1, "admin") == []
    assert fax.read_text() == original
    wait_until(lambda: "Our fax number is" in ask_for_the_fax(box.runtime))
    versions = history(db, FAX)
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[-1].author == "admin (rollback to v1)" and versions[-1].active
    assert not versions[0].active


def test_a_broken_policy_is_refused_like_a_broken_flow(served: tuple[Sandbox, Path]) -> None:
    box, dialogs = served
    policy = dialogs / "policy.yaml"
    original = policy.read_text()
    wait_until(lambda: len(history(box.runtime.db, "policy.yaml")) == 1)
    policy.write_text(original.replace("emergencies:", "emergencys:", 1))
    wait_until(lambda: bool(box.runtime.dialog_problems))
    assert any("policy.yaml" in str(p) for p in box.runtime.dialog_problems)
    assert "Our fax number is" in ask_for_the_fax(box.runtime)  # the server keeps serving
    policy.write_text(original)
    wait_until(lambda: not box.runtime.dialog_problems)
    assert len(history(box.runtime.db, "policy.yaml")) == 1  # same text: no new version


@pytest.fixture
def unwatched(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> Iterator[tuple[Runtime, Path]]:
    """A runtime whose dialogs watcher has not started yet (as while a server comes up)."""
    dialogs = tmp_path / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs)
    base = sandbox_settings_for(
        twilio_api, dialogs_dir=dialogs, clinic_file=dialogs / "demo-clinic.yaml"
    )
    settings = sandbox_settings(base, tmp_path / "clinic", port=0)
    prepare_database(settings, today=CLINIC_MONDAY.date())
    runtime = Runtime.start(settings, speech_services, clock=fixed_clock(CLINIC_MONDAY))
    try:
        yield runtime, dialogs
    finally:
        runtime.close()


def watch_until(runtime: Runtime, condition: Callable[[], bool]) -> None:
    """Run the dialogs watcher until ``condition`` holds (at most 15 s)."""

    async def watching() -> None:
        watcher = asyncio.create_task(runtime.watch_dialogs())
        try:
            while not await asyncio.to_thread(condition):
                assert not watcher.done(), watcher
                await asyncio.sleep(0.1)
        finally:
            watcher.cancel()

    asyncio.run(asyncio.wait_for(watching(), timeout=15))


def test_an_edit_made_before_the_watcher_started_is_served(
    unwatched: tuple[Runtime, Path],
) -> None:
    """No file event reaches a watcher that was not yet running (an edit while the server
    came up): the watcher's stamp check still serves it."""
    runtime, dialogs = unwatched
    fax = dialogs / FAX
    fax.write_text(fax.read_text().replace("Our fax number is", "Fax us at"))
    assert "Our fax number is" in ask_for_the_fax(runtime)  # loaded before the edit
    watch_until(runtime, lambda: "Fax us at" in ask_for_the_fax(runtime))


def test_a_broken_edit_made_before_the_watcher_started_is_never_a_version(
    unwatched: tuple[Runtime, Path],
) -> None:
    runtime, dialogs = unwatched
    fax = dialogs / FAX
    fax.write_text(fax.read_text().replace("Our fax number is", "Our fax {{ number is"))
    watch_until(runtime, lambda: bool(runtime.dialog_problems))
    assert "Our fax number is" in ask_for_the_fax(runtime)  # the loaded version serves
    assert history(runtime.db, FAX) == []  # the broken text was not stored as active
