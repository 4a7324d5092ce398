"""Run the app under uvicorn, stopping gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI

from voiceagent.config import Settings
from voiceagent.logs import get_logger
from voiceagent.web.app import create_app

log = get_logger(__name__)

# Twilio's messages are small; anything this large is refused by the websocket layer
# itself. Messages between 64 KiB and this size reach the handler, which logs and skips them.
WS_MAX_BYTES = 1024 * 1024
WIND_DOWN_SECONDS = 20  # how long live calls get to finish a turn and be handed over


class GracefulServer(uvicorn.Server):
    """On SIGTERM, calls are wound down first (each finishes its turn and is handed to a
    person, new calls ring the front desk directly), then uvicorn stops as usual."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, wind_down_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._wind_down_seconds = wind_down_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._winding_down = False

    async def serve(self, sockets: list | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._winding_down or self._loop is None:
            super().handle_exit(sig, frame)  # a second signal, or Ctrl-C: stop now
            return
        self._winding_down = True
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._wind_down()))

    async def _wind_down(self) -> None:
        runtime = getattr(self._app.state, "runtime", None)
        try:
            if runtime is not None:
                await runtime.wind_down(self._wind_down_seconds)
        except Exception as exc:  # stopping must not get stuck on a failed hand-over
            log.error("wind_down_failed", error=type(exc).__name__)
        finally:
            self.should_exit = True


def serve(settings: Settings, host: str, port: int) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ws_max_size=WS_MAX_BYTES,
        # The app resolves client addresses itself, trusting X-Forwarded-For only from
        # VOICEAGENT_TRUSTED_PROXIES (voiceagent.web.client_address); uvicorn's rewrite
        # would believe any proxy on loopback.
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    GracefulServer(config, app, WIND_DOWN_SECONDS).run()
