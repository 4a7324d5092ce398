"""A throwaway clinic: temporary database and keys, the demo clinic seeded, the real server
listening on a loopback port. ``voiceagent simulate`` without ``--url`` and the test suite
both run calls against it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pydantic import SecretStr

from voiceagent.clock import clock_starting_at
from voiceagent.config import Settings
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.simulate.server import BackgroundServer, free_port
from voiceagent.store import Database, generate_keyring
from voiceagent.store.keyring import write_keyring
from voiceagent.store.seed import seed_file


@dataclass
class Sandbox:
    runtime: Runtime
    url: str

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


def sandbox_settings(base: Settings, workdir: Path, port: int) -> Settings:
    keyring_path = workdir / "keyring.json"
    write_keyring(keyring_path, generate_keyring(development=True))
    return base.model_copy(
        update={
            "public_base_url": f"http://127.0.0.1:{port}",
            "database_url": f"sqlite:///{workdir / 'voiceagent.db'}",
            "keyring": str(keyring_path),
            "twilio_auth_token": base.twilio_auth_token
            if base.twilio_auth_token_value
            else SecretStr(secrets.token_hex(16)),
        }
    )


def prepare_database(settings: Settings, today: date | None = None) -> None:
    """Migrate and seed the clinic file into the settings' database."""
    db = Database.from_settings(settings)
    try:
        db.migrate()
        seed_file(db, settings.clinic_file, today=today)
    finally:
        db.dispose()


@contextmanager
def running_sandbox(
    base: Settings,
    workdir: Path,
    speech: SpeechServices | None = None,
    *,
    now: datetime | None = None,
) -> Iterator[Sandbox]:
    """``now`` (aware) is the seeding day and where the server's clock starts (it runs
    on from there, as a real one does), for a scripted day."""
    port = free_port()
    settings = sandbox_settings(base, workdir, port)
    prepare_database(settings, today=now.date() if now else None)
    runtime = Runtime.start(settings, speech, clock=clock_starting_at(now) if now else None)
    try:
        with BackgroundServer(runtime, port) as url:
            yield Sandbox(runtime, url)
    finally:
        runtime.close()
