"""Weekly-template vocabulary shared by the fixture loader, the seeder and the slot finder."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Window = tuple[time, time]


def parse_windows(text: str) -> list[Window]:
    """``"09:00-12:00,13:00-17:00"`` -> [(09:00, 12:00), (13:00, 17:00)], sorted, disjoint."""
    windows: list[Window] = []
    for part in str(text).split(","):
        match = _WINDOW.match(part)
        if not match:
            raise ValueError("expected time windows like 09:00-12:00 or 09:00-12:00,13:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError("a time window has an hour above 24 or minutes above 59")
        start, end = time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)
        if start >= end:
            raise ValueError("a time window ends before it starts")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in pairwise(windows):
        if start < end:
            raise ValueError("time windows overlap")
    return windows


def format_windows(windows: list[Window]) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in windows)


def intersect(a: list[Window], b: list[Window]) -> list[Window]:
    out: list[Window] = []
    for a1, a2 in a:
        for b1, b2 in b:
            start, end = max(a1, b1), min(a2, b2)
            if start < end:
                out.append((start, end))
    return sorted(out)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def day_bounds_utc(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_to_utc(day, time(0), tz), local_to_utc(day + timedelta(days=1), time(0), tz)
