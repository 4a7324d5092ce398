"""Date filters shared by the pages and the API.

``since`` and ``until`` take a day (``2026-11-01``, the clinic's calendar day) or an
instant (``2026-11-01T09:30:00-05:00``; without an offset it is clinic local time). A day
as ``until`` includes that whole day: ``since=2026-11-01&until=2026-11-30`` is November.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTER_HELP = (
    "A day (YYYY-MM-DD, the clinic's calendar day) or an ISO 8601 instant; without an "
    "offset it is clinic local time. A day as `until` includes the whole day."
)


class FilterError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def parse_bound(value: str | None, zone: ZoneInfo, *, field: str, end: bool) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if _DAY.match(text):
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta(0))
            return datetime.combine(day, time(0), tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(field, "use a date like 2026-11-01 or an ISO 8601 time") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def date_range(
    since: str | None, until: str | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    start = parse_bound(since, zone, field="since", end=False)
    stop = parse_bound(until, zone, field="until", end=True)
    if start and stop and stop <= start:
        raise FilterError("until", "must be after since")
    return start, stop


def choice(value: str | None, allowed: tuple[str, ...], *, field: str) -> str | None:
    """A status filter: one of ``allowed``, or None for "any"."""
    if value is None or value in ("", "all", "any"):
        return None
    if value not in allowed:
        raise FilterError(field, f"one of {', '.join(allowed)}")
    return value
