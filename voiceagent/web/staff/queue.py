"""The live queue (/staff): transfers and emergencies as they happen, today's numbers, and
claiming and closing transfers.

The page renders the queue once; ``/staff/events`` (server-sent events) then pushes the
re-rendered cards whenever the database says the queue changed (see
:mod:`voiceagent.web.live`), so a card appears without a reload, on any replica.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from voiceagent.store.errors import InvalidTransition, NotFound
from voiceagent.store.repos import transfers as transfer_repo
from voiceagent.web import kpis as kpi
from voiceagent.web import views
from voiceagent.web.auth import StaffPost, StaffUser
from voiceagent.web.live import sse
from voiceagent.web.pages import back_to
from voiceagent.web.sessions import Principal, check_session
from voiceagent.web.state import WebState, web_state

router = APIRouter()

KEEPALIVE_SECONDS = 15.0
# How often an open stream re-checks its session, so a disabled account or a signed-out
# session stops receiving within this time (timeouts are met exactly).
RECHECK_SECONDS = 2.0
STREAM_SECONDS = 600.0  # then the browser reconnects: bounds how long a shutdown waits


def render_queue(web: WebState, principal: Principal) -> str:
    """The cards, as this staff member sees them (an audited read of the summaries)."""
    with web.db.session() as session:
        cards = views.active_transfers(session, principal.actor)
        template = web.templates.get_template("_queue.html")
        return template.render(cards=cards, user=principal, csrf_token=principal.csrf_token)


def render_kpis(web: WebState, numbers: kpi.Kpis | None) -> str:
    return web.templates.get_template("_kpis.html").render(kpis=numbers)


def current_kpis(web: WebState) -> kpi.Kpis:
    with web.db.session() as session:
        return kpi.kpis(session, web.clinic().hours, web.now())


@router.get("/")
def home() -> Response:
    return RedirectResponse("/staff", status_code=303)


@router.get("/staff")
def dashboard(
    request: Request, principal: StaffUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    queue_html = render_queue(web, principal)
    return web.page(
        request,
        "queue.html",
        principal,
        queue_html=queue_html,
        kpis_html=render_kpis(web, current_kpis(web)),
    )


@router.get("/staff/events")
async def events(request: Request, web: Annotated[WebState, Depends(web_state)]) -> Response:
    """Server-sent events: ``queue`` (cards HTML), ``stats`` (numbers), ``expired``.

    Listening is not activity: a dashboard left alone still signs out after the idle
    timeout (the page's own script pings while someone actually uses it)."""
    secret = request.cookies.get(web.policy.cookie_name)
    live = web.live
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        if live is None:
            return
        seen = (-1, -1)
        started = last_sent = time.monotonic()
        async with live.subscribe():
            await live.first_poll()
            # A server that is shutting down lets its streams go: browsers reconnect (to
            # another replica, or to this one once it is back).
            while time.monotonic() - started < STREAM_SECONDS and not web.runtime.draining:
                check = await asyncio.to_thread(
                    check_session, web.db, web.policy, secret, now=web.now(), touch=False
                )
                if check.principal is None:
                    yield sse("expired", {"login": "/staff/login?msg=expired"})
                    return
                queue_version, stats_version = live.versions
                if queue_version != seen[0]:
                    html = await asyncio.to_thread(render_queue, web, check.principal)
                    yield sse("queue", {"html": html})
                    last_sent = time.monotonic()
                if stats_version != seen[1] and live.kpis is not None:
                    yield sse(
                        "stats",
                        {"html": render_kpis(web, live.kpis), "counts": live.counts.as_dict()},
                    )
                    last_sent = time.monotonic()
                seen = (queue_version, stats_version if live.kpis is not None else seen[1])
                if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    yield ": keepalive\n\n"
                    last_sent = time.monotonic()
                left = check.seconds_left if check.seconds_left is not None else RECHECK_SECONDS
                await live.wait(seen, timeout=max(0.2, min(RECHECK_SECONDS, left + 0.05)))

    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/staff/transfers/{transfer_id}/claim")
def claim(
    transfer_id: str, principal: StaffPost, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    try:
        with web.db.session() as session:
            transfer_repo.claim_transfer(session, principal.actor, transfer_id, now=web.now())
    except InvalidTransition:
        return back_to("/staff", "taken")
    except NotFound:
        return back_to("/staff", "not_found")
    return back_to("/staff", "claimed", anchor=f"t-{transfer_id}")


@router.post("/staff/transfers/{transfer_id}/done")
def finish(
    transfer_id: str,
    principal: StaffPost,
    web: Annotated[WebState, Depends(web_state)],
    outcome: Annotated[str, Form(pattern="^(done|failed)$")] = "done",
) -> Response:
    try:
        with web.db.session() as session:
            transfer_repo.finish_transfer(
                session, principal.actor, transfer_id, now=web.now(), status=outcome
            )
    except InvalidTransition:
        return back_to("/staff", "already_done")
    except NotFound:
        return back_to("/staff", "not_found")
    return back_to("/staff", "transfer_done")
