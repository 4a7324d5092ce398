"""A staff-facing app per test: the real app on a fresh copy of a migrated, seeded SQLite
clinic, with its own copy of the dialogs directory (admins edit it), driven over HTTP with
Starlette's TestClient."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import CLINIC_MONDAY, isolated_settings
from voiceagent.callrecords import CallRecords
from voiceagent.clock import Clock, fixed_clock, system_clock
from voiceagent.config import REPO_ROOT, Settings
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.store import Database, Keyring, generate_keyring
from voiceagent.store.keyring import write_keyring
from voiceagent.store.seed import seed_file
from voiceagent.web.app import create_app

DIALOGS = REPO_ROOT / "dialogs"
BASE_URL = "http://testserver"


class ClinicTemplate:
    """Migrated and seeded once per session; each test copies the file."""

    def __init__(self, directory: Path) -> None:
        self.keyring: Keyring = generate_keyring(development=True)
        self.keyring_path = directory / "keyring.json"
        write_keyring(self.keyring_path, self.keyring)
        self.path = directory / "template.db"
        db = Database(f"sqlite:///{self.path}", self.keyring)
        db.migrate()
        seed_file(db, DIALOGS / "demo-clinic.yaml", today=CLINIC_MONDAY.date())
        db.dispose()


@pytest.fixture(scope="session")
def clinic_db_template(tmp_path_factory: pytest.TempPathFactory) -> ClinicTemplate:
    return ClinicTemplate(tmp_path_factory.mktemp("web-clinic"))


@pytest.fixture(scope="session")
def shared_dialogs(
    clinic_db_template: ClinicTemplate,
) -> Iterator[FlowDialogFactory]:
    """Loading flows and training the policy takes a second or two. Pages that do not
    edit flows share one factory (on the template database: these tests place no calls);
    tests that edit flows ask for their own (``make_app(own_dialogs=True)``)."""
    db = Database(f"sqlite:///{clinic_db_template.path}", clinic_db_template.keyring)
    yield FlowDialogFactory(db, DIALOGS, clock=fixed_clock(CLINIC_MONDAY))
    db.dispose()


@dataclass
class StaffApp:
    app: FastAPI
    client: TestClient
    runtime: Runtime
    settings: Settings

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def dialogs(self) -> Path:
        return self.settings.dialogs_dir

    def new_client(self) -> TestClient:
        """Another browser: its own cookies, same server."""
        return TestClient(self.app, base_url=BASE_URL)


@pytest.fixture
def make_app(
    clinic_db_template: ClinicTemplate,
    speech_services: SpeechServices,
    shared_dialogs: FlowDialogFactory,
    tmp_path: Path,
) -> Iterator[Callable[..., StaffApp]]:
    opened: list[tuple[TestClient, Runtime]] = []

    def build(
        *,
        replica_of: StaffApp | None = None,
        own_dialogs: bool = False,
        clock: Clock = system_clock,
        **overrides: Any,
    ) -> StaffApp:
        """``replica_of``: a second server process on the same database and dialogs.
        ``own_dialogs``: flows loaded from this app's own copy of the dialogs directory.
        ``clock``: the server's clock (one the test moves, for sign-in delays)."""
        workdir = tmp_path / f"app{len(opened)}"
        workdir.mkdir()
        if replica_of is not None:
            database = Path(replica_of.settings.database_url.removeprefix("sqlite:///"))
            dialogs = replica_of.dialogs
        else:
            database = workdir / "clinic.db"
            shutil.copyfile(clinic_db_template.path, database)
            dialogs = workdir / "dialogs"
            shutil.copytree(DIALOGS, dialogs, ignore=shutil.ignore_patterns("scenarios"))
        settings = isolated_settings(
            database_url=f"sqlite:///{database}",
            keyring=str(clinic_db_template.keyring_path),
            dialogs_dir=dialogs,
            clinic_file=dialogs / "demo-clinic.yaml",
            **{"reload_dialogs": False, "public_base_url": BASE_URL, **overrides},
        )
        db = Database(settings.database_url, clinic_db_template.keyring)
        # The server runs on the system clock (sessions, tokens, sign-in windows and "today"
        # on the dashboard expire and roll over in real time); the flows answer as on the
        # clinic's Monday morning, whenever the tests run.
        runtime = Runtime(
            settings,
            speech=speech_services,
            db=db,
            calls=CallRecords(db, system_clock),
            dialogs=(
                FlowDialogFactory(db, dialogs, clock=fixed_clock(CLINIC_MONDAY))
                if own_dialogs
                else shared_dialogs
            ),
            owns_speech=False,
            clock=clock,
        )
        app = create_app(runtime=runtime)
        client = TestClient(app, base_url=BASE_URL)
        client.__enter__()  # runs the lifespan (the live queue's poller)
        opened.append((client, runtime))
        return StaffApp(app, client, runtime, settings)

    yield build
    for client, runtime in opened:
        client.__exit__(None, None, None)
        runtime.close()


@pytest.fixture
def staff_app(make_app: Callable[..., StaffApp]) -> StaffApp:
    return make_app()
