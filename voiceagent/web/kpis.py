"""Today's numbers for the dashboard: counts and timings over non-PHI columns only (no
decryption, so nothing to audit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from voiceagent.callrecords import TEST_CALL_LINE
from voiceagent.handoff.hours import ClinicHours
from voiceagent.store.models import (
    Call,
    Callback,
    CallTurn,
    InsuranceChangeRequest,
    RefillRequest,
    Transfer,
)


@dataclass(frozen=True)
class Counts:
    """Open work, for the navigation badges."""

    new_transfers: int = 0
    active_transfers: int = 0
    open_callbacks: int = 0
    pending_refills: int = 0
    pending_insurance: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "new_transfers": self.new_transfers,
            "active_transfers": self.active_transfers,
            "open_callbacks": self.open_callbacks,
            "pending_refills": self.pending_refills,
            "pending_insurance": self.pending_insurance,
        }


@dataclass(frozen=True)
class Kpis:
    day: str
    calls: int = 0
    transferred: int = 0
    after_hours: int = 0
    avg_gap_ms: int | None = None
    p95_gap_ms: int | None = None
    by_reason: list[tuple[str, int]] = field(default_factory=list)

    @property
    def containment(self) -> float | None:
        """Share of today's calls the agent handled without a person."""
        return (self.calls - self.transferred) / self.calls if self.calls else None


def day_bounds(zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The clinic's current calendar day as UTC instants [start, end)."""
    local = now.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def counts(session: Session) -> Counts:
    def count(model: type, *where: object) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return Counts(
        new_transfers=count(Transfer, Transfer.status == "new"),
        active_transfers=count(Transfer, Transfer.status.in_(("new", "claimed"))),
        open_callbacks=count(Callback, Callback.status == "open"),
        pending_refills=count(RefillRequest, RefillRequest.status == "pending"),
        pending_insurance=count(InsuranceChangeRequest, InsuranceChangeRequest.status == "pending"),
    )


def activity_key(session: Session, start: datetime, end: datetime) -> tuple[object, ...]:
    """Changes whenever today's numbers may have: cheap to poll often."""
    in_day = (Call.started_at >= start, Call.started_at < end)
    row = session.execute(
        select(
            func.count(Call.id),
            func.count(Call.ended_at),
            func.sum(case((Call.transferred, 1), else_=0)),
        ).where(*in_day)
    ).one()
    transfers = session.scalar(
        select(func.count(Transfer.id)).where(
            Transfer.created_at >= start, Transfer.created_at < end
        )
    )
    return (*row, transfers)


def kpis(session: Session, hours: ClinicHours, now: datetime) -> Kpis:
    start, end = day_bounds(hours.tz, now)
    started = list(
        session.execute(
            select(Call.started_at, Call.transferred).where(
                Call.started_at >= start,
                Call.started_at < end,
                # Admins' test calls from the browser are not the clinic's calls.
                or_(Call.called_number.is_(None), Call.called_number != TEST_CALL_LINE),
            )
        )
    )
    gaps = sorted(
        gap
        for gap in session.scalars(
            select(CallTurn.response_gap_ms).where(
                CallTurn.at >= start, CallTurn.at < end, CallTurn.response_gap_ms.is_not(None)
            )
        )
        if gap is not None
    )
    reasons = session.execute(
        select(Transfer.reason_code, func.count(Transfer.id))
        .where(Transfer.created_at >= start, Transfer.created_at < end)
        .group_by(Transfer.reason_code)
        .order_by(func.count(Transfer.id).desc(), Transfer.reason_code)
    )
    return Kpis(
        day=start.astimezone(hours.tz).strftime("%A %B %d"),
        calls=len(started),
        transferred=sum(1 for _, transferred in started if transferred),
        after_hours=sum(1 for at, _ in started if not hours.is_open(at)),
        avg_gap_ms=round(sum(gaps) / len(gaps)) if gaps else None,
        p95_gap_ms=gaps[max(0, -(-95 * len(gaps) // 100) - 1)] if gaps else None,
        by_reason=[(code, n) for code, n in reasons],
    )
