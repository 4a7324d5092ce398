"""Clock times and parts of the day in normalised caller text ("after 3", "9 30 am").

Hours said without am/pm follow clinic sense: 7-11 are morning, 12 is noon, 1-6 are
afternoon, unless the caller framed the day ("in the morning", "tonight").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

# Rewrites that turn spoken clock forms into "H:MM".
_PRE = (
    (re.compile(r"\bhalf (?:past|after) (\d{1,2})\b"), r"\1:30"),
    (re.compile(r"\bquarter (?:past|after) (\d{1,2})\b"), r"\1:15"),
    (re.compile(r"\b(\d{1,2}) 0 ([1-9])\b(?=\s*(?:am|pm)?)"), r"\1:0\2"),
    (re.compile(r"\b12 noon\b|\bnoon\b|\bmidday\b"), "12:00 pm"),
    # "8 in the morning", "6 at night": the phrase settles am/pm for that hour.
    (re.compile(r"\b(\d{1,2}(?::\d{2})?) (?=in the morning\b)"), r"\1 am "),
    (
        re.compile(
            r"\b(\d{1,2}(?::\d{2})?) (?=(?:in the (?:afternoon|evening)|at night|tonight)\b)"
        ),
        r"\1 pm ",
    ),
)
_QUARTER_TO = re.compile(r"\bquarter (?:to|till|of|before) (\d{1,2})\b")

TIME_RE = (
    r"(?P<h>\d{1,2})(?::(?P<m>[0-5]\d)|\s(?P<m2>[0-5]\d)(?!\d|st|nd|rd|th|/| (?:days?|weeks?)))?"
    r"(?:\s?(?P<ampm>am|pm|oclock))?(?!\d|st\b|nd\b|rd\b|th\b|/)"
)
_TIME = re.compile(rf"\b{TIME_RE}")


@dataclass(frozen=True)
class DayPart:
    start: time | None
    end: time | None
    meridiem: str | None  # "am"/"pm" when the part of day settles bare hours


# Longest first: "early afternoon" before "afternoon".
DAY_PARTS: tuple[tuple[re.Pattern[str], DayPart], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), part)
    for pattern, part in (
        (
            r"early (?:in the )?mornings?|1st thing(?: in the morning)?",
            DayPart(None, time(10), "am"),
        ),
        (r"late mornings?", DayPart(time(10), time(12), "am")),
        (r"mornings?", DayPart(None, time(12), "am")),
        (r"early afternoons?", DayPart(time(12), time(15), "pm")),
        (r"late afternoons?|late in the day|end of the day", DayPart(time(15), None, "pm")),
        (r"afternoons?", DayPart(time(12), time(17), "pm")),
        (r"after lunch", DayPart(time(13), None, "pm")),
        (r"before lunch", DayPart(None, time(12), "am")),
        (r"lunch ?time|around lunch|over lunch|lunch", DayPart(time(11), time(13), None)),
        (r"evenings?|tonight|after work|at night", DayPart(time(17), None, "pm")),
        (r"after school", DayPart(time(15), None, "pm")),
    )
)


def prepare(text: str) -> str:
    """Rewrite spoken clock forms so :func:`find_times` sees "H:MM [am|pm]"."""
    for pattern, repl in _PRE:
        text = pattern.sub(repl, text)
    return _QUARTER_TO.sub(lambda m: f"{(int(m.group(1)) - 2) % 12 + 1}:45", text)


def to_time(hour: int, minute: int, ampm: str | None, meridiem: str | None) -> time | None:
    """Resolve a spoken hour to a clock time; None when it cannot be one."""
    if not 0 <= minute < 60:
        return None
    if ampm in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        if ampm == "pm" and hour != 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        return time(hour, minute)
    if hour > 23:
        return None
    if hour >= 13 or hour == 0:
        return time(hour, minute)
    if meridiem == "pm" and hour < 12:
        return time(hour + 12, minute)
    if meridiem == "am":
        return time(hour % 12 if hour == 12 else hour, minute)
    # No frame: office hours decide (7-11 morning, 12-6 afternoon).
    if 1 <= hour <= 6:
        return time(hour + 12, minute)
    return time(hour, minute)


@dataclass(frozen=True)
class ClockMatch:
    start: int
    end: int
    hour: int
    minute: int
    ampm: str | None
    explicit: bool  # said with ":", "am/pm", "o'clock" or minutes, so surely a time

    def resolve(self, meridiem: str | None) -> time | None:
        return to_time(self.hour, self.minute, self.ampm, meridiem)


def find_times(text: str) -> list[ClockMatch]:
    out: list[ClockMatch] = []
    for m in _TIME.finditer(text):
        minute_text = m.group("m") or m.group("m2")
        ampm = m.group("ampm")
        explicit = bool(m.group("m") or ampm or m.group("m2"))
        out.append(
            ClockMatch(
                m.start(),
                m.end(),
                int(m.group("h")),
                int(minute_text) if minute_text else 0,
                ampm if ampm != "oclock" else None,
                explicit,
            )
        )
    return out
