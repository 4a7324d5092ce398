"""The real policy file, compiled once per test session (the classifier trains in ~0.5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.handoff import ClinicHours, Policy, PolicyEngine, load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = REPO_ROOT / "dialogs" / "policy.yaml"

# The clinic of docs/DESIGN.md's fixture example: closed at weekends, Friday until 1 PM.
CLINIC = {
    "clinic": {
        "name": "Maple Street Family Medicine",
        "timezone": "America/New_York",
        "hours": {
            "mon": "08:00-17:00",
            "tue": "08:00-17:00",
            "wed": "08:00-17:00",
            "thu": "08:00-17:00",
            "fri": "08:00-13:00",
        },
        "holidays": ["2026-12-25", "2027-01-01"],
    }
}


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY_PATH)


@pytest.fixture(scope="session")
def engine(policy: Policy) -> PolicyEngine:
    """No clinic hours: always open, so every handoff is a live transfer."""
    return PolicyEngine(policy)


@pytest.fixture(scope="session")
def clinic_hours() -> ClinicHours:
    return ClinicHours.from_clinic(CLINIC)


@pytest.fixture(scope="session")
def clinic_engine(policy: Policy, clinic_hours: ClinicHours) -> PolicyEngine:
    return PolicyEngine(policy, clinic_name="Maple Street Family Medicine", hours=clinic_hours)
