"""The context summary staff get with every handoff, so the caller never repeats themselves.

One structured record per handoff, stored encrypted with the transfer (or callback), shown
three ways: a short whisper spoken to the staff member before the caller is bridged, a card
on the dashboard, and JSON from the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from voiceagent.understanding.entities import PersonName, TimePreference

TRANSCRIPT_TAIL = 6
# What staff should do next, by reason code; anything else gets the generic line.
NEXT_STEPS: dict[str, str] = {
    "emergency": "Confirm the caller has called 911 or is getting emergency help.",
    "self_harm": "Stay with the caller; confirm they have reached 988 or 911.",
    "test_results": "Route to clinical staff to discuss results.",
    "diagnosis": "Route to a clinician.",
    "clinical_question": "Route to a nurse or clinician for clinical advice.",
    "billing": "Review the account with billing.",
    "complaint": "Listen to the complaint and log it for the practice manager.",
    "records_request": "Start a records request and verify identity for release.",
    "controlled_substance": "Clinician review needed for a controlled-substance refill.",
    "no_refills_left": "Clinician review: no refills left; may need a visit.",
    "medication_not_on_file": "Check the chart for the medication the caller named.",
    "identity_failed": "Verify the caller's identity before discussing their record.",
    "caller_request": "Help the caller with what they ask.",
    "low_confidence": "The agent had trouble understanding; ask how you can help.",
    "max_attempts": "The agent could not complete a question; pick up where it stopped.",
    "frustration": "The caller was frustrated; acknowledge and help directly.",
    "new_patient": "Call back to register the new patient and book a first visit.",
    "caller_hung_up": "Call back and finish what the caller started (see details).",
    "system_restart": "The assistant restarted mid-call: pick up where it left off.",
    "system_error": "The assistant had a system problem: help the caller directly.",
}
# Values the summary never carries even if a flow kept them (minimum necessary).
_HIDDEN = frozenset({"identity", "offers", "medications", "appointments", "coverage"})
# How the whisper says why the call is coming to staff (a few words, read aloud).
_SPOKEN_REASONS: dict[str, str] = {
    "emergency": "possible emergency, told to call 9 1 1",
    "self_harm": "possible self-harm crisis, given 9 8 8",
    "test_results": "asking about test results, sensitive topic",
    "diagnosis": "asking about a diagnosis, sensitive topic",
    "clinical_question": "clinical question for a nurse or doctor",
    "billing": "billing question or dispute",
    "complaint": "has a complaint",
    "records_request": "requesting medical records",
    "controlled_substance": "refill of a controlled medication",
    "no_refills_left": "refill with no refills left",
    "medication_not_on_file": "refill of a medication not on file",
    "pharmacy_unknown": "refill to a pharmacy we could not identify",
    "identity_failed": "could not be verified",
    "not_verified": "no record found",
    "appointment_not_found": "appointment the assistant could not find",
    "caller_request": "asked to speak with someone",
    "low_confidence": "the assistant had trouble understanding",
    "max_attempts": "the assistant could not complete a question",
    "frustration": "the caller is frustrated",
    "flow_error": "the assistant ran into a problem",
    "caller_hung_up": "hung up before finishing",
    "system_restart": "the assistant is restarting",
    "system_error": "the assistant had a system problem",
}


@dataclass(frozen=True)
class HandoffSummary:
    caller_number: str | None
    patient_id: str | None
    patient_name: str | None
    verified: bool
    intent: str | None
    details: dict[str, str]
    reason_code: str
    reason: str
    urgency: str
    transcript: list[tuple[str, str]]
    next_step: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "caller_number": self.caller_number,
            "patient": {
                "id": self.patient_id,
                "name": self.patient_name,
                "verified": self.verified,
            },
            "intent": self.intent,
            "details": self.details,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "urgency": self.urgency,
            "transcript": [{"speaker": s, "text": t} for s, t in self.transcript],
            "next_step": self.next_step,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HandoffSummary:
        patient = data.get("patient") or {}
        return cls(
            caller_number=data.get("caller_number"),
            patient_id=patient.get("id"),
            patient_name=patient.get("name"),
            verified=bool(patient.get("verified")),
            intent=data.get("intent"),
            details=dict(data.get("details") or {}),
            reason_code=data.get("reason_code", ""),
            reason=data.get("reason", ""),
            urgency=data.get("urgency", "routine"),
            transcript=[(t["speaker"], t["text"]) for t in data.get("transcript") or []],
            next_step=data.get("next_step", ""),
        )

    def whisper(self) -> str:
        """What the staff member hears before the caller is connected (a few seconds)."""
        if self.patient_name and self.verified:
            who = f"Verified patient {self.patient_name}"
        elif self.patient_name:
            who = f"Caller says they are {self.patient_name}, not verified"
        else:
            who = "Unidentified caller"
        topic = f", calling about {self.intent.replace('_', ' ')}" if self.intent else ""
        why = _SPOKEN_REASONS.get(self.reason_code, self.reason_code.replace("_", " "))
        urgency = " Urgent." if self.urgency in ("urgent", "emergency") else ""
        return f"{who}{topic}; {why}.{urgency}"


def build_summary(
    *,
    caller_number: str | None,
    patient_id: str | None,
    patient_name: str | None,
    verified: bool,
    intent: str | None,
    details: Mapping[str, str],
    reason_code: str,
    reason: str,
    urgency: str,
    transcript: Sequence[tuple[str, str]],
) -> HandoffSummary:
    return HandoffSummary(
        caller_number=caller_number,
        patient_id=patient_id,
        patient_name=patient_name,
        verified=verified,
        intent=intent,
        details=dict(details),
        reason_code=reason_code,
        reason=reason,
        urgency=urgency,
        transcript=list(transcript)[-TRANSCRIPT_TAIL:],
        next_step=NEXT_STEPS.get(reason_code, f"Help the caller: {reason}"),
    )


def describe_value(name: str, value: Any) -> str | None:
    """A collected value as a few words for staff, or None to leave it out."""
    if name in _HIDDEN or value is None:
        return None
    if isinstance(value, PersonName):
        return " ".join(p for p in (value.first, value.middle, value.last) if p)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%a %b %d, %I:%M %p")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, TimePreference):
        return _describe_preference(value)
    if isinstance(value, Mapping):
        label = value.get("label") or value.get("name")
        return str(label) if label else None
    if isinstance(value, str | int | float):
        return str(value)[:200]
    return None


def _describe_preference(pref: TimePreference) -> str:
    parts: list[str] = []
    if pref.asap:
        parts.append("as soon as possible")
    if pref.earliest:
        parts.append(f"from {pref.earliest:%a %b %d}")
    if pref.latest and pref.latest != pref.earliest:
        parts.append(f"until {pref.latest:%a %b %d}")
    if pref.weekdays:
        parts.append(", ".join(pref.weekday_names()))
    if pref.at:
        parts.append(f"at {pref.at:%I:%M %p}")
    elif pref.time_from or pref.time_to:
        start = f"{pref.time_from:%I:%M %p}" if pref.time_from else ""
        end = f"{pref.time_to:%I:%M %p}" if pref.time_to else ""
        parts.append(f"between {start} and {end}".strip())
    return "; ".join(parts) or "any time"
