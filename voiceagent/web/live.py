"""The live queue's change feed: one poller per process, many dashboards.

The database is the source of truth, so this works with any number of replicas: every
``live_queue_poll_seconds`` (only while some dashboard is open) the poller reads the
active transfers' ids, statuses and update times plus a few counts, all non-PHI columns,
and bumps a version number when they change. Each dashboard's event stream waits on that
and renders its own cards (an audited read, as that staff member) when the queue changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import select

from voiceagent.clock import Clock
from voiceagent.logs import get_logger
from voiceagent.store import Database
from voiceagent.store.models import Transfer
from voiceagent.web import kpis as kpi
from voiceagent.web.state import ClinicView

log = get_logger(__name__)

ACTIVE_STATUSES = ("new", "claimed")


def sse(event: str, data: Any) -> str:
    """One server-sent event; JSON keeps the payload on a single ``data:`` line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class LiveQueue:
    def __init__(
        self,
        db: Database,
        clinic: Callable[[], ClinicView],
        clock: Clock,
        interval: float = 0.3,
    ) -> None:
        self._db = db
        self._clinic = clinic
        self._clock = clock
        self.interval = interval
        self.queue_version = 0
        self.stats_version = 0
        self.counts = kpi.Counts()
        self.kpis: kpi.Kpis | None = None
        self._queue_key: object = None
        self._stats_key: object = None
        self._changed = asyncio.Event()
        self._wanted = asyncio.Event()
        self._subscribers = 0

    @property
    def versions(self) -> tuple[int, int]:
        return self.queue_version, self.stats_version

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[None]:
        """Hold while a dashboard listens; the poller sleeps when nobody does."""
        self._subscribers += 1
        self._wanted.set()
        try:
            yield
        finally:
            self._subscribers -= 1

    async def first_poll(self, timeout: float = 2.0) -> None:
        """Wait (a bounded time) for the poller's first read after it woke. A stream that
        rendered before it would see that read as a change and send the same queue again,
        and a dashboard waiting for news would take the repeat for it."""
        if self.versions == (0, 0):
            await self.wait((0, 0), timeout)

    async def wait(self, seen: tuple[int, int], timeout: float) -> None:
        """Return when the versions differ from ``seen``, or after ``timeout`` seconds."""
        if self.versions != seen:
            return
        changed = self._changed
        with suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    async def run(self) -> None:
        while True:
            if not self._subscribers:
                self._wanted.clear()
                await self._wanted.wait()
            try:
                await self.poll_once()
            except Exception as exc:  # the database may be restarting; keep trying
                log.warning("live_queue_poll_failed", error=type(exc).__name__)
                await asyncio.sleep(max(1.0, self.interval))
                continue
            await asyncio.sleep(self.interval)

    async def poll_once(self) -> None:
        queue_key, stats_key, counts, kpis = await asyncio.to_thread(self._read, self._stats_key)
        changed = False
        if queue_key != self._queue_key:
            self._queue_key = queue_key
            self.queue_version += 1
            changed = True
        if stats_key != self._stats_key:
            self._stats_key = stats_key
            self.counts = counts
            self.kpis = kpis
            self.stats_version += 1
            changed = True
        if changed:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    def _read(self, previous: object) -> tuple[object, object, kpi.Counts, kpi.Kpis | None]:
        clinic = self._clinic()
        with self._db.session() as session:
            rows = session.execute(
                select(Transfer.id, Transfer.status, Transfer.updated_at).where(
                    Transfer.status.in_(ACTIVE_STATUSES)
                )
            ).all()
            queue_key = tuple(sorted((r.id, r.status, r.updated_at.isoformat()) for r in rows))
            counts = kpi.counts(session)
            now = self._clock()
            start, end = kpi.day_bounds(clinic.zone, now)
            stats_key = (counts, kpi.activity_key(session, start, end), start)
            kpis = kpi.kpis(session, clinic.hours, now) if stats_key != previous else self.kpis
        return queue_key, stats_key, counts, kpis
