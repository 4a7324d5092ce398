"""Answers from the clinic's own configuration: hours, holidays. No patient data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.dialog.templates import spoken_date
from voiceagent.understanding.entities import TimePreference


@action()
def opening_hours(ctx: ActionContext, day: TimePreference | None = None) -> dict[str, Any]:
    """Today (or the day the caller asked about, holidays included) and the week."""
    hours = ctx.clinic.hours
    asked = _day_asked(day, ctx.now.date())
    return {
        "open_now": hours.is_open(ctx.now),
        "today": hours.describe_day(asked, ctx.now) if asked else hours.describe_today(ctx.now),
        "week": hours.describe_week(),
    }


def _day_asked(day: TimePreference | None, today: date) -> date | None:
    """The first day the caller's words name ("tomorrow", "on Friday", "the 24th"), or
    None when they name no day (only a time, or nothing)."""
    if day is None or not (day.earliest or day.latest or day.weekdays):
        return None
    first = max(day.earliest or today, today)
    for offset in range(14):
        candidate = first + timedelta(days=offset)
        if day.latest and candidate > day.latest:
            return None
        if not day.weekdays or candidate.weekday() in day.weekdays:
            return candidate
    return None


@action()
def upcoming_holidays(ctx: ActionContext, limit: int = 3) -> list[str]:
    today = ctx.now.date()
    days = sorted(d for d in (date.fromisoformat(h) for h in ctx.clinic.holidays) if d >= today)
    return [spoken_date(d) for d in days[:limit]]
