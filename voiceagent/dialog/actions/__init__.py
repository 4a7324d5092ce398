"""Built-in actions; importing this package registers them all in ``ACTIONS``."""

from voiceagent.dialog.actions import (  # noqa: F401 - imported for registration
    callbacks,
    clinic_info,
    identity,
    insurance,
    refills,
    scheduling,
)
from voiceagent.dialog.actions.registry import ACTIONS, ActionContext, ActionRefused, action

__all__ = ["ACTIONS", "ActionContext", "ActionRefused", "action"]
