"""Facts said to callers are exact: a plan is accepted by its name or a curated alias only,
and the hours of the day asked about know that day's holidays."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from voiceagent.dialog.clinic import ClinicInfo, canonical_carrier
from voiceagent.handoff.hours import ClinicHours

ZONE = ZoneInfo("America/New_York")
HOURS = ClinicHours.from_config(
    {"mon": "08:00-17:00", "tue": "08:00-17:00", "fri": "08:00-13:00"},
    ["2026-12-25"],
    "America/New_York",
)


def clinic(accepted: list[str]) -> ClinicInfo:
    return ClinicInfo(
        name="Test Clinic",
        timezone=ZONE,
        phone="+15550000000",
        front_desk="+15550000001",
        address="",
        parking="",
        fax="",
        refill_turnaround="",
        insurance_accepted=tuple(accepted),
        holidays=("2026-12-25",),
        hours=HOURS,
    )


@pytest.mark.parametrize(
    ("said", "accepted"),
    [
        ("Medicare", True),
        ("medicare", True),
        ("Medicaid", False),  # one letter from Medicare: never merged
        ("BCBS", True),
        ("Blue Cross", True),
        ("UHC", True),
        ("United Healthcare", True),
        ("Humana", False),
        ("Aetna Better Health", False),  # a near name is another plan
    ],
)
def test_a_plan_is_accepted_by_its_name_or_a_curated_alias(said: str, accepted: bool) -> None:
    on_file = clinic(["Aetna", "Blue Cross Blue Shield", "Medicare", "UnitedHealthcare"])
    assert on_file.accepts(said) is accepted


def test_the_clinics_own_spelling_of_a_plan_counts() -> None:
    assert clinic(["BCBS", "United Health Care"]).accepts("Blue Cross Blue Shield")
    assert canonical_carrier("uhc") == "UnitedHealthcare"
    assert canonical_carrier("Some Local Plan") == "Some Local Plan"


def test_known_carriers_carry_their_aliases_for_the_resolver() -> None:
    known = {c["name"]: c["aliases"] for c in clinic(["Blue Cross Blue Shield"]).known_carriers}
    assert "BCBS" in known["Blue Cross Blue Shield"]
    assert known["Medicaid"] == []


def test_hours_of_the_day_asked_about_know_its_holiday() -> None:
    thursday = datetime(2026, 12, 24, 15, 0, tzinfo=ZONE)
    assert HOURS.describe_day(date(2026, 12, 25), thursday) == (
        "Tomorrow we're closed for the holiday; we open again Monday at 8 AM."
    )
    assert HOURS.describe_day(date(2026, 12, 28), thursday) == (
        "Monday we're open from 8 AM to 5 PM."
    )
    assert HOURS.describe_day(date(2026, 12, 26), thursday) == (
        "Saturday we're closed; we open again Monday at 8 AM."
    )
    assert HOURS.describe_day(date(2026, 12, 24), thursday) == HOURS.describe_today(thursday)
