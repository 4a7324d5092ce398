"""When the phone agent hands a caller to a person, and what it says when it does.

``dialogs/policy.yaml`` holds the policy (emergencies, sensitive topics, asking for a
person, frustration, thresholds, after-hours wording); this package loads and checks it
(:func:`load_policy`, :func:`validate_policy_file`), applies it to each caller turn
(:class:`PolicyEngine`), counts unsure turns per call (:class:`UncertaintyTracker`) and
knows the clinic's opening hours (:class:`ClinicHours`).
"""

from __future__ import annotations

from voiceagent.handoff.findings import Action, Assessment, FindingKind
from voiceagent.handoff.hours import ClinicHours, HoursError
from voiceagent.handoff.loader import PolicyError, Problem, load_policy, validate_policy_file
from voiceagent.handoff.policy import Explanation, PolicyEngine
from voiceagent.handoff.schema import Policy
from voiceagent.handoff.uncertainty import HandoffReason, UncertaintyTracker

POLICY_FILENAME = "policy.yaml"  # inside the dialogs directory (Settings.dialogs_dir)

__all__ = [
    "POLICY_FILENAME",
    "Action",
    "Assessment",
    "ClinicHours",
    "Explanation",
    "FindingKind",
    "HandoffReason",
    "HoursError",
    "Policy",
    "PolicyEngine",
    "PolicyError",
    "Problem",
    "UncertaintyTracker",
    "load_policy",
    "validate_policy_file",
]
