"""A test softphone: signs an admin in over HTTP, then talks to the try-call websocket as the
page does (PCM16 frames every 20 ms in real time, marks echoed when "played")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from telephony.browser.protocol import SUBPROTOCOL
from telephony.browser.routes import PAGE_PATH, SOCKET_PATH
from tests.web.helpers import csrf_of, sign_in
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.web.sessions import PLAIN_COOKIE

RATE = 8000  # what the page asks its AudioContext for
FRAME_SECONDS = 0.02


@dataclass(frozen=True)
class Credentials:
    cookie: str | None
    csrf: str | None


def admin_credentials(sandbox: Sandbox, username: str) -> Credentials:
    """Sign in through the form and read the page's CSRF token, as a browser would."""
    with httpx.Client(base_url=sandbox.url) as client:
        assert sign_in(client, username).status_code == 303
        page = client.get(PAGE_PATH)
        assert page.status_code == 200, page.status_code
        return Credentials(client.cookies.get(PLAIN_COOKIE), csrf_of(page.text))


def staff_credentials(sandbox: Sandbox, username: str) -> tuple[Credentials, int]:
    """A signed-in non-admin (CSRF token from the dashboard) and what the page answers them."""
    with httpx.Client(base_url=sandbox.url) as client:
        assert sign_in(client, username).status_code == 303
        csrf = csrf_of(client.get("/staff").text)
        status = client.get(PAGE_PATH).status_code
        return Credentials(client.cookies.get(PLAIN_COOKIE), csrf), status


def anonymous_page(sandbox: Sandbox) -> httpx.Response:
    with httpx.Client(base_url=sandbox.url) as client:
        return client.get(PAGE_PATH, follow_redirects=False)


def socket_url(sandbox: Sandbox, rate: int = RATE) -> str:
    return sandbox.url.replace("http://", "ws://") + f"{SOCKET_PATH}?rate={rate}"


def open_socket(
    sandbox: Sandbox,
    credentials: Credentials,
    *,
    origin: str | None = None,
    rate: int = RATE,
) -> connect:
    headers = {"Origin": origin or sandbox.url}
    if credentials.cookie:
        headers["Cookie"] = f"{PLAIN_COOKIE}={credentials.cookie}"
    protocols = [SUBPROTOCOL] + ([f"csrf-{credentials.csrf}"] if credentials.csrf else [])
    return connect(
        socket_url(sandbox, rate),
        additional_headers=headers,
        subprotocols=protocols,  # type: ignore[arg-type]
        max_size=2**20,
    )


async def refusal(
    sandbox: Sandbox, credentials: Credentials, **kwargs: object
) -> tuple[int | None, str]:
    """Connect and return how the server closed the socket (code, reason)."""
    async with open_socket(sandbox, credentials, **kwargs) as ws:  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionClosed):
            message = await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError(f"expected a refusal, got {type(message).__name__}")
        assert ws.close_code is not None
        return ws.close_code, ws.close_reason or ""


@dataclass
class Prompt:
    frames: list[np.ndarray] = field(default_factory=list)
    mark: str | None = None
    cleared: bool = False

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, dtype=np.int16)


@dataclass
class Softphone:
    """One try-call from the page's side."""

    ws: ClientConnection
    rate: int = RATE
    messages: list[dict[str, object]] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    outgoing: list[np.ndarray] = field(default_factory=list)
    marks_echoed: list[str] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _current: Prompt | None = None
    _echoes: set[asyncio.Task[None]] = field(default_factory=set)
    _play_end: float = 0.0

    @property
    def frame_samples(self) -> int:
        return self.rate // 50

    def of_type(self, kind: str) -> list[dict[str, object]]:
        return [m for m in self.messages if m.get("type") == kind]

    async def run_microphone(self) -> None:
        """Frames every 20 ms, speech or silence, like the page's AudioWorklet."""
        silence = np.zeros(self.frame_samples, dtype=np.int16)
        next_at = time.monotonic()
        while not self.closed.is_set():
            frame = self.outgoing.pop(0) if self.outgoing else silence
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(frame.astype("<i2").tobytes())
            next_at += FRAME_SECONDS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def run_speaker(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, bytes):
                    self._on_audio(np.frombuffer(raw, dtype="<i2").astype(np.int16))
                else:
                    self._on_control(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def _on_audio(self, pcm: np.ndarray) -> None:
        if self._current is None:
            self._current = Prompt()
            self.prompts.append(self._current)
        self._current.frames.append(pcm)
        self._play_end = max(self._play_end, time.monotonic()) + len(pcm) / self.rate

    def _on_control(self, message: dict[str, object]) -> None:
        self.messages.append(message)
        if message["type"] == "mark":
            name = str(message["name"])
            if self._current is not None:
                self._current.mark = name
                self._current = None
            delay = max(0.0, self._play_end - time.monotonic())
            asyncio.get_running_loop().call_later(delay, self._echo, name)
        elif message["type"] == "clear":
            if self._current is not None:
                self._current.cleared = True
                self._current = None
            self._play_end = time.monotonic()

    def _echo(self, name: str) -> None:
        async def send() -> None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(json.dumps({"type": "mark", "name": name}))
                self.marks_echoed.append(name)

        task = asyncio.ensure_future(send())
        self._echoes.add(task)
        task.add_done_callback(self._echoes.discard)

    async def send_control(self, message: dict[str, object] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def say(self, pcm: np.ndarray) -> None:
        """Queue speech (int16 at this phone's rate) behind what the microphone is sending."""
        size = self.frame_samples
        padded = np.concatenate([pcm, np.zeros(-len(pcm) % size, dtype=np.int16)])
        self.outgoing.extend(padded[i : i + size] for i in range(0, len(padded), size))

    async def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)
