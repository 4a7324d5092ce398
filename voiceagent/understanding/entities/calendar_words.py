"""Weekday and month vocabulary and calendar arithmetic shared by the date parsers."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "tues": 1, "weds": 2, "thurs": 3,
}  # fmt: skip
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# "may" is also a verb: as a bare month it needs a calendar word before it.
WEEKDAY_RE = "(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + ")"
MONTH_RE = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def safe_date(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > month_days(year, month):
        return None
    return date(year, month, day)


def week_start(day: date) -> date:
    """Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def next_month_day(today: date, month: int, day: int) -> date | None:
    """The next ``month``/``day`` on or after today (this year, else next year)."""
    for year in (today.year, today.year + 1, today.year + 4):
        found = safe_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def next_day_of_month(today: date, day: int) -> date | None:
    """The next date whose day of month is ``day``, on or after today."""
    year, month = today.year, today.month
    for _ in range(13):
        found = safe_date(year, month, day)
        if found is not None and found >= today:
            return found
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, month_days(year, month + 1)))


def month_range(today: date, month: int) -> tuple[date, date]:
    """The next occurrence of a whole month, clipped to start today at the earliest."""
    year = today.year if month >= today.month else today.year + 1
    first = date(year, month, 1)
    last = date(year, month, month_days(year, month))
    return max(first, today), last
