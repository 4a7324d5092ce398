"""A server started at a chosen clinic time (VOICEAGENT_DEV_CLOCK_START): one clock for the
dialog, the call records and the web, refused on a production keyring."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import sandbox_settings_for
from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.base import Utterance
from voiceagent.runtime import ClockRefused, Runtime, SpeechServices
from voiceagent.simulate.sandbox import prepare_database, sandbox_settings
from voiceagent.store import Actor
from voiceagent.store.keyring import generate_keyring, write_keyring
from voiceagent.store.repos import calls as call_repo

CLINIC = ZoneInfo("America/New_York")
CHRISTMAS_MORNING = datetime(2026, 12, 25, 10, 0, tzinfo=CLINIC)  # a clinic holiday


def settings_for(tmp_path: Path, twilio_api: FakeTwilioApi, start: str):  # type: ignore[no-untyped-def]
    dialogs = tmp_path / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs, ignore=shutil.ignore_patterns("scenarios"))
    base = sandbox_settings_for(
        twilio_api,
        dialogs_dir=dialogs,
        clinic_file=dialogs / "demo-clinic.yaml",
        reload_dialogs=False,
        dev_clock_start=start,
    )
    settings = sandbox_settings(base, tmp_path / "clinic", port=0)
    prepare_database(settings, today=CHRISTMAS_MORNING.date())
    return settings


def test_the_server_runs_on_the_chosen_clinic_time(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> None:
    settings = settings_for(tmp_path, twilio_api, "2026-12-25T10:00")
    runtime = Runtime.start(settings, speech_services)
    try:
        now = runtime.clock()
        assert CHRISTMAS_MORNING <= now < CHRISTMAS_MORNING + timedelta(minutes=5)
        assert runtime.dialogs.services.clock is runtime.clock
        call_sid = "CA" + "7" * 32
        with runtime.db.session() as session:
            call = call_repo.open_call(
                session, Actor.system("tests"), call_sid=call_sid, started_at=runtime.clock()
            )
            assert call.started_at.date() == CHRISTMAS_MORNING.date()
        dialog = runtime.dialogs.new_dialog(call_sid)
        dialog.greet()
        reply = dialog.on_utterance(Utterance("Are you open today?", 0.95, 1200))
        said = " ".join(reply.say).lower()
        assert "closed" in said, said  # the clinic's holiday, whatever today's real date is
    finally:
        runtime.close()


def test_a_moved_clock_is_refused_on_a_production_keyring(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> None:
    settings = settings_for(tmp_path, twilio_api, "2026-12-25T10:00")
    production = tmp_path / "production-keyring.json"
    write_keyring(production, generate_keyring(development=False))
    settings = settings.model_copy(update={"keyring": str(production)})
    with pytest.raises(ClockRefused, match="production keyring"):
        Runtime.start(settings, speech_services)
