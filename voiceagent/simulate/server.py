"""Run the real app on a loopback port in a background thread (simulator and tests)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from voiceagent.runtime import Runtime
from voiceagent.web.app import create_app
from voiceagent.web.server import WS_MAX_BYTES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """``with BackgroundServer(runtime) as url: ...`` serves the app until the block ends.

    The runtime's ``public_base_url`` must be the URL returned here, so that webhook
    signatures match: build the runtime with :func:`free_port` first.
    """

    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        config = uvicorn.Config(
            create_app(runtime=runtime),
            host="127.0.0.1",
            port=port,
            ws_max_size=WS_MAX_BYTES,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="voiceagent-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
