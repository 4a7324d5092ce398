"""The one clock of a server process.

Every decision that depends on the time of day (open slots, "in the past", clinic hours and
after-hours routing, stream-token expiry, staff-session timeouts, retention, "today" on the
dashboard) reads ``now`` from a single :data:`Clock` that the runtime owns and passes down:
to the dialog's context, the repositories (as a ``now`` argument), the desk and the web
pages. Nothing below the runtime asks the wall clock itself, so the dialog and the store can
never disagree about what time it is, and tests and demos can pin the day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

Clock = Callable[[], datetime]  # an aware instant


def system_clock() -> datetime:
    """The real time: the clock of every production server."""
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """Always ``at``: tests that replay a scripted day and hour."""
    moment = _aware(at)
    return lambda: moment


def clock_starting_at(at: datetime, *, elapsed: Callable[[], float] = time.monotonic) -> Clock:
    """Starts at ``at`` and runs forward in real time: a demo or an evaluation of
    business-hours behaviour on a chosen clinic day, whenever it is run."""
    start = _aware(at)
    origin = elapsed()
    return lambda: start + timedelta(seconds=elapsed() - origin)


def parse_start(text: str, zone: tzinfo) -> datetime:
    """An ISO date-time for :func:`clock_starting_at`; without an offset it is read in the
    clinic's own time zone ("2026-11-23T10:00" is ten in the morning at the clinic)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO date-time: {text!r} (e.g. 2026-11-23T10:00)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time")
    return at
