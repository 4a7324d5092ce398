"""The real `voiceagent serve` in a child process, on a throwaway seeded clinic, talking to
a local fake of Twilio's REST API; its stderr (every log line) is kept for inspection."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from tests.conftest import isolated_settings
from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.config import Settings
from voiceagent.simulate.sandbox import prepare_database, sandbox_settings
from voiceagent.simulate.server import free_port

VOICEAGENT = str(Path(sys.executable).with_name("voiceagent"))


class ServerProcess:
    def __init__(self, workdir: Path, fake: FakeTwilioApi, **overrides: str) -> None:
        base = isolated_settings(
            twilio_account_sid=fake.account_sid,
            twilio_auth_token=SecretStr(fake.auth_token),
            twilio_api_url=fake.url,
        )
        self.settings: Settings = sandbox_settings(base, workdir, free_port())
        prepare_database(self.settings)
        self.fake = fake
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEAGENT_")}
        self.env.update(
            VOICEAGENT_PORT=self.settings.public_base_url.rsplit(":", 1)[1],
            VOICEAGENT_PUBLIC_BASE_URL=self.settings.public_base_url,
            VOICEAGENT_DATABASE_URL=self.settings.database_url,
            VOICEAGENT_KEYRING=self.settings.keyring,
            VOICEAGENT_TWILIO_ACCOUNT_SID=fake.account_sid,
            VOICEAGENT_TWILIO_AUTH_TOKEN=fake.auth_token,
            VOICEAGENT_TWILIO_API_URL=fake.url,
            VOICEAGENT_RELOAD_DIALOGS="false",
            **overrides,
        )
        self.process: asyncio.subprocess.Process | None = None
        self._chunks: list[bytes] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def log(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")

    @property
    def url(self) -> str:
        return self.settings.public_base_url

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            VOICEAGENT, "serve", env=self.env, stderr=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read(self.process))
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    await self.stop()
                    raise AssertionError(f"the server exited:\n{self.log[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError("the server did not become ready")

    async def stop(self) -> int | None:
        """Stop (SIGTERM, then kill) and collect everything it logged."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 40)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            await self._reader  # a full pipe would block the server's logging: read it all
        return process.returncode

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while chunk := await process.stderr.read(65536):
            self._chunks.append(chunk)
