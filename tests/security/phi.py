"""What must never leak: every seeded patient value of the demo clinic, in the spellings a
leak would use, and the marks of a Python stack trace."""

from __future__ import annotations

import re
from datetime import date
from functools import cache

import yaml

from voiceagent.config import REPO_ROOT

TRACE_MARKS = ("Traceback", 'File "')


@cache
def seeded_values() -> frozenset[str]:
    clinic = yaml.safe_load((REPO_ROOT / "dialogs" / "demo-clinic.yaml").read_text())
    values: set[str] = set()
    for patient in clinic["patients"]:
        values |= {patient["first_name"], patient["last_name"]}
        dob = patient["dob"]
        dob = dob if isinstance(dob, date) else date.fromisoformat(str(dob))
        values |= {
            dob.isoformat(),
            dob.strftime("%m/%d/%Y"),
            dob.strftime("%m%d%Y"),  # as keyed in
            f"{dob:%B} {dob.day}, {dob.year}",
        }
        phone = re.sub(r"\D", "", str(patient.get("phone", "")))
        if phone:
            values |= {phone, phone[1:], f"{phone[1:4]}-{phone[4:7]}-{phone[7:]}"}
        insurance = patient.get("insurance") or {}
        values |= {str(insurance[k]) for k in ("member_id", "group") if insurance.get(k)}
        values |= {m["name"] for m in patient.get("medications", [])}
        if patient.get("address"):
            values.add(patient["address"])
    return frozenset(v for v in values if len(v) >= 4)


def leaks(text: str) -> list[str]:
    """What leaked into ``text`` (case-insensitive): stack-trace marks by name, patient
    values only by a redacted label, so that a failing test does not print them either."""
    lowered = text.lower()
    found = [f"stack trace ({mark})" for mark in TRACE_MARKS if mark.lower() in lowered]
    for value in sorted(seeded_values()):
        if value.lower() in lowered:
            found.append(f"a seeded patient value ({value[:1]}…, {len(value)} characters)")
    return found
