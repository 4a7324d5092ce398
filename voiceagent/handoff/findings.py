"""What the safety policy found in a caller's turn, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voiceagent.handoff.schema import Urgency


class FindingKind(StrEnum):
    """In priority order: an emergency outranks everything else said in the same turn."""

    EMERGENCY = "emergency"
    SENSITIVE = "sensitive"
    HUMAN_REQUEST = "human_request"
    FRUSTRATION = "frustration"
    UNCERTAINTY = "uncertainty"


class Action(StrEnum):
    TRANSFER = "transfer"  # warm transfer to the front desk now
    CALLBACK = "callback"  # clinic closed: take a reason and create a callback request
    CONTINUE = "continue"  # keep going; the finding only counts towards a later handoff


@dataclass(frozen=True)
class Assessment:
    """One finding with everything the dialog and the handoff summary need.

    ``category`` is the policy's id (``chest_pain``, ``test_results``, ``caller_request``);
    ``reason_code`` groups transfers on the dashboard (``emergency``, ``billing``, ...);
    ``reason`` is the one sentence for staff; ``say`` the sentences to speak, in order.
    ``evidence`` is the policy's own phrase or word combination that matched, never the
    caller's words, so it is safe to show in an admin's test view.
    """

    kind: FindingKind
    category: str
    reason_code: str
    reason: str
    urgency: Urgency
    action: Action
    say: tuple[str, ...]
    evidence: str = ""

    @property
    def is_emergency(self) -> bool:
        return self.kind is FindingKind.EMERGENCY

    @property
    def hands_off(self) -> bool:
        """True when the call leaves the agent now (a transfer, or a callback after hours)."""
        return self.action is not Action.CONTINUE
