"""The names flow templates and conditions can use, besides the flow's own values.

The loader checks templates against these names; the engine builds them for each turn.
Patient data appears only as the verified patient's first name (minimum necessary).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from voiceagent.sandbox import CALLABLE

if TYPE_CHECKING:
    from voiceagent.dialog.clinic import ClinicInfo
    from voiceagent.dialog.state import DialogState

CONTEXT_NAMES = frozenset(
    {"clinic", "patient", "verified", "caller", "now", "today", "attempts", "known_carriers"}
)
# Jinja's literals, and the only functions the sandbox lets a template call; its name
# finder reports them as undeclared.
JINJA_NAMES = frozenset({"true", "false", "none", "True", "False", "None"}) | CALLABLE


def build_context(
    state: DialogState, clinic: ClinicInfo, now: datetime, caller_number: str | None
) -> dict[str, Any]:
    return {
        **state.values,
        "clinic": clinic,
        "patient": {"first_name": state.first_name} if state.verified else None,
        "verified": state.verified,
        "caller": {"has_number": bool(caller_number)},
        "now": now,
        "today": now.date(),
        "attempts": state.question.attempts if state.question else 0,
        "known_carriers": clinic.known_carriers,
    }
