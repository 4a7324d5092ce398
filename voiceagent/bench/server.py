"""The server under test: a separate ``voiceagent serve``-like process with a throwaway clinic
(temporary SQLite database and keyring, the demo clinic seeded), the same server in this
process (tests), or one already running elsewhere (``--url``).

Why a separate process by default: its CPU seconds and memory are then the server's own
(read from ``/proc/<pid>``), and the client's event loop, which paces 50 frames a second per
call, shares no interpreter lock with the server's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import httpx

from voiceagent.bench.client import CallTarget
from voiceagent.config import Settings
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import prepare_database, sandbox_settings
from voiceagent.simulate.server import BackgroundServer, free_port

# A Monday morning in the clinic (the test suite's too): open, with a full week ahead.
PINNED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))
_RUN_CLI = "from voiceagent.cli import main; main()"
# Call control must never reach Twilio from a benchmark: a refused loopback port instead.
NO_TWILIO_API = "http://127.0.0.1:9"


@dataclass
class Target:
    call: CallTarget
    mode: Literal["process", "in-process", "external"]
    now: datetime  # the clinic's clock (pinned unless external)
    pid: int | None = None  # the server process, when it is ours and separate
    settings: Settings | None = None  # to read the server's database afterwards
    trace_path: Path | None = None
    ready_s: float | None = None  # launch to /healthz ok
    idle_s: float | None = None  # /healthz ok to idle (background phrase synthesis done)
    log_path: Path | None = None


def prepare_clinic(base: Settings, workdir: Path, port: int, now: datetime | None) -> Settings:
    """Keyring, database (migrated, demo clinic seeded) and settings for a server on ``port``."""
    settings = sandbox_settings(base, workdir, port)
    settings = settings.model_copy(
        update={"twilio_api_url": settings.twilio_api_url or NO_TWILIO_API}
    )
    prepare_database(settings, today=now.date() if now else None)
    return settings


def server_environment(settings: Settings, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "VOICEAGENT_HOST": "127.0.0.1",
            "VOICEAGENT_PORT": str(port),
            "VOICEAGENT_PUBLIC_BASE_URL": settings.public_base_url,
            "VOICEAGENT_DATABASE_URL": settings.database_url,
            "VOICEAGENT_KEYRING": settings.keyring,
            "VOICEAGENT_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "VOICEAGENT_TWILIO_AUTH_TOKEN": settings.twilio_auth_token_value,
            "VOICEAGENT_TWILIO_API_URL": settings.twilio_api_url or NO_TWILIO_API,
            "VOICEAGENT_CLINIC_FILE": str(settings.clinic_file),
            "VOICEAGENT_DIALOGS_DIR": str(settings.dialogs_dir),
        }
    )
    return env


def serve_command(port: int) -> list[str]:
    """``voiceagent serve`` exactly as an operator runs it."""
    script = Path(sys.executable).with_name("voiceagent")
    head = [str(script)] if script.exists() else [sys.executable, "-c", _RUN_CLI]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


def bench_serve_command(port: int, now: datetime | None, trace: Path | None) -> list[str]:
    command = [sys.executable, "-m", "voiceagent.bench.serve_main", "--port", str(port)]
    if now is not None:
        command += ["--now", now.isoformat()]
    if trace is not None:
        command += ["--trace", str(trace)]
    return command


class ServerProcess:
    """A server child process; ``wait_ready()`` polls ``/healthz``; exit stops it (SIGTERM)."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, url: str):
        self.command = command
        self.env = env
        self.log_path = log_path
        self.url = url
        self.launched_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        self.launched_at = time.monotonic()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Seconds from launch to the first ``/healthz`` answering 200."""
        assert self._process is not None
        deadline = self.launched_at + timeout_s
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the server exited early; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return time.monotonic() - self.launched_at
                time.sleep(0.02)
        raise RuntimeError(f"the server was not ready within {timeout_s:.0f} s")

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _call_target(settings: Settings, url: str) -> CallTarget:
    return CallTarget(
        url=url,
        auth_token=settings.twilio_auth_token_value,
        account_sid=settings.twilio_account_sid,
    )


@contextlib.contextmanager
def process_target(
    base: Settings,
    workdir: Path,
    now: datetime = PINNED_NOW,
    *,
    trace: bool = True,
    idle_timeout_s: float = 60.0,
) -> Iterator[Target]:
    """The benchmark server in a child process, ready and idle."""
    from voiceagent.bench.procstat import wait_idle

    port = free_port()
    settings = prepare_clinic(base, workdir, port, now)
    trace_path = workdir / "trace.jsonl" if trace else None
    log_path = workdir / "server.log"
    command = bench_serve_command(port, now, trace_path)
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(command, server_environment(settings, port), log_path, url) as server:
        ready_s = server.wait_ready()
        idle_s = wait_idle(server.pid, timeout_s=idle_timeout_s)
        yield Target(
            call=_call_target(settings, url),
            mode="process",
            now=now,
            pid=server.pid,
            settings=settings,
            trace_path=trace_path,
            ready_s=ready_s,
            idle_s=idle_s,
            log_path=log_path,
        )


@contextlib.contextmanager
def in_process_target(
    base: Settings,
    workdir: Path,
    now: datetime = PINNED_NOW,
    *,
    speech: SpeechServices | None = None,
    trace: bool = True,
) -> Iterator[Target]:
    """The same server in a thread of this process (tests; CPU is then shared with the client)."""
    from voiceagent.bench.serve_main import start_runtime

    port = free_port()
    settings = prepare_clinic(base, workdir, port, now)
    trace_path = workdir / "trace.jsonl" if trace else None
    started = time.monotonic()
    runtime, own_speech, tracer = start_runtime(settings, now, trace_path, speech)
    try:
        with BackgroundServer(runtime, port) as url:
            yield Target(
                call=_call_target(settings, url),
                mode="in-process",
                now=now,
                settings=settings,
                trace_path=trace_path,
                ready_s=time.monotonic() - started,
            )
    finally:
        runtime.close()
        if speech is None:
            own_speech.close()
        if tracer is not None:
            tracer.close()


@contextlib.contextmanager
def external_target(url: str, settings: Settings, now: datetime | None = None) -> Iterator[Target]:
    """A server someone else started (``--url``); its database is read only if the
    ``VOICEAGENT_DATABASE_URL`` and keyring of this environment point at it."""
    tz = ZoneInfo("America/New_York")
    yield Target(
        call=_call_target(settings, url.rstrip("/")),
        mode="external",
        now=now or datetime.now(tz),
        settings=settings,
    )


@contextlib.contextmanager
def scratch_dir(keep: Path | None = None) -> Iterator[Path]:
    """A temporary work directory, or ``keep`` (created) to look at the logs afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="voiceagent-bench-") as name:
        yield Path(name)
