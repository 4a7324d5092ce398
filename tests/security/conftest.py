"""The clinic the security tests attack: the real app served by uvicorn on a loopback port
(real HTTP, real websockets), a fresh migrated SQLite database seeded with the demo clinic,
and its own copy of the dialogs directory, because admin routes are exercised and the
repository's files must stay as they are.

The runtime is assembled here rather than with ``Runtime.start`` so that it skips warming
the phrase cache in the background: these tests need the greeting at most, and the warm-up
would hold the shared speech pool (and the session's end) for half a minute.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import CLINIC_MONDAY, sandbox_settings_for
from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.callrecords import CallRecords
from voiceagent.clock import clock_starting_at
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.factory import build_dialog_factory
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.simulate.sandbox import Sandbox, prepare_database, sandbox_settings
from voiceagent.simulate.server import BackgroundServer, free_port
from voiceagent.store import Database


@pytest.fixture(scope="module")
def clinic(
    speech_services: SpeechServices,
    twilio_api: FakeTwilioApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sandbox]:
    workdir = tmp_path_factory.mktemp("security")
    dialogs = workdir / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs, ignore=shutil.ignore_patterns("scenarios"))
    base = sandbox_settings_for(
        twilio_api,
        dialogs_dir=dialogs,
        clinic_file=dialogs / "demo-clinic.yaml",
        reload_dialogs=False,
    )
    port = free_port()
    settings = sandbox_settings(base, workdir, port)
    prepare_database(settings, today=CLINIC_MONDAY.date())
    db = Database.from_settings(settings)
    clock = clock_starting_at(CLINIC_MONDAY)
    runtime = Runtime(
        settings,
        speech=speech_services,
        db=db,
        calls=CallRecords(db, clock, settings.stream_token_ttl_seconds),
        dialogs=build_dialog_factory(settings, db, clock=clock),
        owns_speech=False,
        clock=clock,
    )
    try:
        with BackgroundServer(runtime, port) as url:
            yield Sandbox(runtime, url)
    finally:
        runtime.close()
