"""Clinic opening hours: is the front desk there now, when does it open, said out loud.

Built from the clinic fixture's ``hours`` (``{mon: "08:00-17:00", fri: "08:00-13:00"}``,
days left out are closed, split days as ``"08:00-12:00,13:00-17:00"``), ``holidays`` (ISO
dates, closed all day) and ``timezone`` (an IANA name such as ``America/New_York``).

Opening hours are wall-clock times in the clinic's time zone, so every instant is first
converted to that zone (``astimezone``, which applies the right UTC offset on either side of
a daylight-saving change) and compared with the day's hours as local times; openings are
built with ``datetime.combine(day, time, tzinfo=zone)``, never by adding 24-hour steps to
an earlier instant, which would drift by an hour across the change. A naive ``datetime``
is taken to be clinic local time (as appointment times in the fixture are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_DAY_KEYS: dict[str, int] = {}
for _index, _name in enumerate(DAY_NAMES):
    _lower = _name.lower()
    for _key in (_lower, _lower[:3], _lower[:4]):
        _DAY_KEYS[_key] = _index
_DAY_KEYS.update({"tues": 1, "thur": 3, "thurs": 3})
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SEARCH_DAYS = 400  # a year of holidays plus a week, then give up


class HoursError(ValueError):
    """The clinic's hours, holidays or time zone cannot be understood."""


@dataclass(frozen=True, order=True)
class Period:
    start: time
    end: time


def parse_periods(text: str, day: str = "") -> tuple[Period, ...]:
    """``"08:00-12:00,13:00-17:00"`` -> two periods; ``""`` or ``"closed"`` -> none."""
    where = f" for {day}" if day else ""
    if text.strip().lower() in ("", "closed"):
        return ()
    periods: list[Period] = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if m is None:
            raise HoursError(
                f"cannot read the hours '{part.strip()}'{where}: write them like 08:00-17:00"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        try:
            period = Period(time(h1, m1), time(h2, m2))
        except ValueError:
            raise HoursError(f"'{part.strip()}'{where} is not a real time of day") from None
        if period.start >= period.end:
            raise HoursError(f"'{part.strip()}'{where} closes before it opens")
        periods.append(period)
    periods.sort()
    for first, second in pairwise(periods):
        if second.start < first.end:
            raise HoursError(f"the hours{where} overlap: {text}")
    return tuple(periods)


class ClinicHours:
    """Weekly opening hours with holidays, in the clinic's time zone."""

    def __init__(
        self,
        weekly: Mapping[int, Sequence[Period]],
        holidays: Iterable[date] = (),
        timezone: str | ZoneInfo = "America/New_York",
    ) -> None:
        self.weekly: dict[int, tuple[Period, ...]] = {
            day: tuple(sorted(periods)) for day, periods in weekly.items() if periods
        }
        self.holidays = frozenset(holidays)
        if isinstance(timezone, ZoneInfo):
            self.tz = timezone
        else:
            try:
                self.tz = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise HoursError(f"unknown time zone '{timezone}'") from None

    @classmethod
    def from_config(
        cls,
        hours: Mapping[str, str],
        holidays: Iterable[str | date] = (),
        timezone: str | ZoneInfo = "America/New_York",
    ) -> ClinicHours:
        weekly: dict[int, tuple[Period, ...]] = {}
        for key, value in hours.items():
            day = _DAY_KEYS.get(str(key).strip().lower())
            if day is None:
                raise HoursError(f"'{key}' is not a day of the week (use mon, tue, ... sun)")
            weekly[day] = parse_periods(str(value or ""), DAY_NAMES[day])
        return cls(weekly, (_as_date(h) for h in holidays), timezone)

    @classmethod
    def from_clinic(cls, clinic: Mapping[str, Any]) -> ClinicHours:
        """From the fixture's ``clinic`` mapping (or the whole fixture holding one)."""
        section = clinic.get("clinic", clinic)
        return cls.from_config(
            section.get("hours") or {},
            section.get("holidays") or (),
            section.get("timezone") or "America/New_York",
        )

    # -- questions about an instant ----------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        """``at`` in clinic local time (naive values are taken as local already)."""
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def periods_on(self, day: date) -> tuple[Period, ...]:
        return () if day in self.holidays else self.weekly.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        local = self.local(at)
        now = local.time()
        return any(p.start <= now < p.end for p in self.periods_on(local.date()))

    def closes_at(self, at: datetime) -> datetime | None:
        """When the current opening ends, or None if closed at ``at``."""
        local = self.local(at)
        now = local.time()
        for p in self.periods_on(local.date()):
            if p.start <= now < p.end:
                return datetime.combine(local.date(), p.end, tzinfo=self.tz)
        return None

    def next_opening(self, at: datetime) -> datetime:
        """The first moment at or after ``at`` when the clinic is open (``at`` if open now)."""
        local = self.local(at)
        if self.is_open(local):
            return local
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            for p in self.periods_on(day):
                if offset > 0 or p.start > local.time():
                    return datetime.combine(day, p.start, tzinfo=self.tz)
        raise HoursError("the clinic has no opening hours in the coming year")

    # -- saying it ----------------------------------------------------------------------------

    def describe_next_opening(self, at: datetime) -> str:
        """ "tomorrow at 8 AM", "Monday at 8 AM", "today at 1 PM" (or "now" if open)."""
        local = self.local(at)
        if self.is_open(local):
            return "now"
        opening = self.next_opening(local)
        return f"{_day_phrase(opening.date(), local.date())} at {speak_time(opening.time())}"

    def describe_today(self, at: datetime) -> str:
        """One or two sentences about today, for the caller."""
        local = self.local(at)
        today, now = local.date(), local.time()
        periods = self.periods_on(today)
        if not self.weekly:
            return "We don't have regular opening hours."
        if today in self.holidays and self.weekly.get(today.weekday()):
            return f"We're closed today for the holiday; we open again {self._next(local)}."
        if not periods:
            return f"We're closed today; we open again {self._next(local)}."
        current = next((p for p in periods if p.start <= now < p.end), None)
        later = [p for p in periods if p.start > now]
        if current is not None:
            if later:
                again = _join([f"{speak_time(p.start)} to {speak_time(p.end)}" for p in later])
                return f"We're open now until {speak_time(current.end)}, and again from {again}."
            return f"We're open today until {speak_time(current.end)}."
        if later and len(later) == len(periods):
            return f"We're open today {_spans(periods)}."
        if later:
            return (
                f"We're closed right now; we open again today at {speak_time(later[0].start)} "
                f"and stay open until {speak_time(later[-1].end)}."
            )
        return f"We're closed for the rest of today; we open again {self._next(local)}."

    def describe_day(self, day: date, at: datetime) -> str:
        """One sentence about the day a caller asked about ("tomorrow", "Friday", "the
        24th"), holidays included; today is :meth:`describe_today`, which knows the time."""
        local = self.local(at)
        if day == local.date():
            return self.describe_today(local)
        when = _day_phrase(day, local.date())
        periods = self.periods_on(day)
        if periods:
            return f"{when.capitalize()} we're open {_spans(periods)}."
        reopen = self.describe_next_opening(datetime.combine(day, time(23, 59), tzinfo=self.tz))
        if day in self.holidays and self.weekly.get(day.weekday()):
            return f"{when.capitalize()} we're closed for the holiday; we open again {reopen}."
        return f"{when.capitalize()} we're closed; we open again {reopen}."

    def _next(self, local: datetime) -> str:
        return self.describe_next_opening(local)

    def describe_week(self) -> str:
        """The regular weekly hours in a few spoken sentences."""
        if not self.weekly:
            return "We don't have regular opening hours."
        groups: list[tuple[list[int], tuple[Period, ...]]] = []
        for day in range(7):
            periods = self.weekly.get(day, ())
            if not periods:
                continue
            if groups and groups[-1][1] == periods and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], periods))
        open_parts = [f"{_day_range(days)} {_spans(periods)}" for days, periods in groups]
        closed = [DAY_NAMES[d] for d in range(7) if d not in self.weekly]
        sentence = f"We're open {_join(open_parts)}."
        if closed:
            sentence += f" We're closed {_join(closed)}."
        return sentence


def speak_time(t: time) -> str:
    """8:00 -> "8 AM", 13:30 -> "1:30 PM", 12:00 -> "noon"."""
    if t == time(12, 0):
        return "noon"
    if t == time(0, 0):
        return "midnight"
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def _spans(periods: Sequence[Period]) -> str:
    return _join([f"from {speak_time(p.start)} to {speak_time(p.end)}" for p in periods])


def _day_range(days: list[int]) -> str:
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    if len(days) == 2:
        return f"{DAY_NAMES[days[0]]} and {DAY_NAMES[days[1]]}"
    return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _day_phrase(day: date, today: date) -> str:
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta < 7:
        return DAY_NAMES[day.weekday()]
    return f"{DAY_NAMES[day.weekday()]}, {_MONTHS[day.month - 1]} {_ordinal(day.day)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _as_date(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise HoursError(f"'{value}' is not a date: write holidays like 2026-12-25") from None
