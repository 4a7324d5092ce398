"""The server as the latency benchmark runs it: ``voiceagent serve`` plus two things a
benchmark needs, both outside the product code.

* ``--now``: the clinic's clock pinned (as ``running_sandbox(now=...)`` does), so bookings,
  opening hours and "next Monday" are the same on every run;
* ``--trace``: per-turn timings (:mod:`voiceagent.bench.trace`) appended to a file.

Settings come from ``VOICEAGENT_*`` environment variables exactly as for ``voiceagent serve``,
and the app, uvicorn options and runtime are the product's own.

Run: ``python -m voiceagent.bench.serve_main --port 8123 --now 2026-11-23T10:00-05:00``
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import uvicorn

from voiceagent.bench.trace import TracedDialogFactory, Tracer, traced_speech
from voiceagent.config import Settings, get_settings
from voiceagent.logs import configure_logging
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.web.app import create_app
from voiceagent.web.server import WIND_DOWN_SECONDS, WS_MAX_BYTES, GracefulServer


def start_runtime(
    settings: Settings,
    now: datetime | None = None,
    trace: Path | None = None,
    speech: SpeechServices | None = None,
) -> tuple[Runtime, SpeechServices, Tracer | None]:
    """``Runtime.start(settings)``, optionally with a pinned clock and tracing.

    The caller closes the runtime, the returned speech services and the tracer."""
    base = speech or SpeechServices.load(settings)
    tracer = Tracer(trace, settings.end_of_turn_ms) if trace else None
    used = traced_speech(base, tracer) if tracer else base
    runtime = Runtime.start(settings, used, clock=(lambda: now) if now else None)
    if tracer is not None:
        runtime.dialogs = TracedDialogFactory(runtime.dialogs, tracer)
    return runtime, base, tracer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None)
    parser.add_argument("--trace", type=Path, default=None)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    runtime, speech, tracer = start_runtime(settings, args.now, args.trace)
    app = create_app(runtime=runtime)
    # The same server options and SIGTERM handling as voiceagent.web.server.serve.
    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        ws_max_size=WS_MAX_BYTES,
        # The app resolves client addresses itself, trusting X-Forwarded-For only from
        # VOICEAGENT_TRUSTED_PROXIES (voiceagent.web.client_address); uvicorn's rewrite
        # would believe any proxy on loopback.
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    try:
        GracefulServer(config, app, WIND_DOWN_SECONDS).run()
    finally:
        runtime.close()
        speech.close()
        if tracer is not None:
            tracer.close()


if __name__ == "__main__":
    main()
