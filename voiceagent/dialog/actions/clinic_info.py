"""Answers from the clinic's own configuration: hours, holidays. No patient data."""

from __future__ import annotations

from datetime import date
from typing import Any

from voiceagent.dialog.actions.registry import ActionContext, action
from voiceagent.dialog.templates import spoken_date


@action()
def opening_hours(ctx: ActionContext) -> dict[str, Any]:
    hours = ctx.clinic.hours
    return {
        "open_now": hours.is_open(ctx.now),
        "today": hours.describe_today(ctx.now),
        "week": hours.describe_week(),
    }


@action()
def upcoming_holidays(ctx: ActionContext, limit: int = 3) -> list[str]:
    today = ctx.now.date()
    days = sorted(d for d in (date.fromisoformat(h) for h in ctx.clinic.holidays) if d >= today)
    return [spoken_date(d) for d in days[:limit]]
