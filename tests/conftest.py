"""Fixtures shared by the whole suite: models loaded once, a running sandbox clinic, and a
local fake of Twilio's REST API that the sandbox's call control talks to."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.config import REPO_ROOT, Settings
from voiceagent.dialog.conversations import DEFAULT_NOW
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import Sandbox, running_sandbox
from voiceagent.speech.tts import SpeechSynthesizer
from voiceagent.store import Database, generate_keyring
from voiceagent.store.seed import seed_file

# Monday morning in the clinic: the front desk is open whenever the tests happen to run.
CLINIC_MONDAY = DEFAULT_NOW.replace(tzinfo=ZoneInfo("America/New_York"))


def isolated_settings(**overrides: object) -> Settings:
    """Defaults only: nothing from the developer's environment leaks into a test."""
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def speech_services() -> Iterator[SpeechServices]:
    """The product's speech services, except that Piper's noise is off: the same text is
    the same audio on every run, so a test's outcome does not depend on a draw. (With it
    on, one rendition of "Lisinopril." in twelve is heard as "Listen up, Ro.".)"""
    services = SpeechServices.load(isolated_settings())
    services.synthesizer = SpeechSynthesizer(noise_scale=0.0, noise_w_scale=0.0)
    yield services
    services.close()


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[FakeTwilioApi]:
    """Twilio's REST API as far as call control uses it, recording every request."""
    with FakeTwilioApi() as fake:
        yield fake


def sandbox_settings_for(fake: FakeTwilioApi, **overrides: object) -> Settings:
    return isolated_settings(
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=SecretStr(fake.auth_token),
        twilio_api_url=fake.url,
        **overrides,
    )


@pytest.fixture(scope="module")
def sandbox(
    speech_services: SpeechServices,
    twilio_api: FakeTwilioApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sandbox]:
    """The real server on a loopback port, with a fresh database seeded with the demo clinic."""
    workdir = tmp_path_factory.mktemp("clinic")
    settings = sandbox_settings_for(twilio_api)
    with running_sandbox(settings, workdir, speech_services, now=CLINIC_MONDAY) as box:
        yield box


class ClinicTemplate:
    """The demo clinic migrated and seeded once (on the default Monday); every test that
    changes data gets its own copy of the file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.keyring = generate_keyring(development=True)
        self.path = directory / "template.db"
        db = Database(f"sqlite:///{self.path}", self.keyring)
        db.migrate()
        seed_file(db, REPO_ROOT / "dialogs" / "demo-clinic.yaml", today=DEFAULT_NOW.date())
        db.dispose()
        self._copies = 0

    def fresh_database(self) -> Database:
        self._copies += 1
        copy = self.directory / f"conversation-{self._copies}.db"
        shutil.copyfile(self.path, copy)
        return Database(f"sqlite:///{copy}", self.keyring)


@pytest.fixture(scope="session")
def clinic_template(tmp_path_factory: pytest.TempPathFactory) -> ClinicTemplate:
    return ClinicTemplate(tmp_path_factory.mktemp("conversations"))
