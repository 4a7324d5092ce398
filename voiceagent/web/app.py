"""The FastAPI application: Twilio's routes, health, metrics, the staff dashboard and the
JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from voiceagent import __version__
from voiceagent.config import Settings, get_settings
from voiceagent.runtime import Runtime
from voiceagent.web import health
from voiceagent.web.state import STATIC_DIR, STATIC_PREFIX, WebState


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. With no ``runtime`` one is started (models loaded) at start-up and
    closed at shutdown; tests pass a shared one so models load once per session."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or Runtime.start(settings)
        watcher = (
            asyncio.create_task(app.state.runtime.watch_dialogs())
            if settings.reload_dialogs
            else None
        )
        live = _start_live_queue(app)
        try:
            yield
        finally:
            live.cancel()
            if watcher is not None:
                watcher.cancel()
            await app.state.runtime.drain_calls()
            if owned:
                app.state.runtime.close()

    # The document maps every route and parameter for an attacker: development only. No
    # docs UI at all (Swagger and ReDoc load scripts from a CDN, outside our CSP).
    # ``app.openapi()`` still builds the document in-process for tests and tools.
    app = FastAPI(
        title="Clinic Voice Agent",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.openapi else None,
        docs_url=None,
        redoc_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime

    from telephony.browser.routes import router as browser_router
    from telephony.twilio.routes import router as twilio_router
    from telephony.twilio.transfer_routes import router as transfer_router

    app.include_router(twilio_router)
    app.include_router(transfer_router)
    app.include_router(browser_router)
    app.include_router(health.router)
    _mount_staff(app, settings)
    return app


def _mount_staff(app: FastAPI, settings: Settings) -> None:
    """The dashboard, admin pages and API: routes, error pages, security headers."""
    from voiceagent.web import admin, api, errors, staff
    from voiceagent.web.security import SecurityHeaders

    app.state.web = WebState(app, settings)
    app.include_router(staff.router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)
    app.add_middleware(
        SecurityHeaders, https=settings.public_base_url.lower().startswith("https://")
    )


def _start_live_queue(app: FastAPI) -> asyncio.Task[None]:
    from voiceagent.web.live import LiveQueue

    web: WebState = app.state.web
    web.live = LiveQueue(web.db, web.clinic, web.now, web.settings.live_queue_poll_seconds)
    return asyncio.create_task(web.live.run(), name="live-queue")
