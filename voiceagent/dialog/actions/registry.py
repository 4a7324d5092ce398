"""Named Python actions that flow files call (``action: find_slots``).

An action receives an :class:`ActionContext` (one database session, who is acting, the
clinic, the clock, the call's dialog state) and keyword arguments the flow evaluated, and
returns a value the flow can keep with ``save_as``. Actions never speak; flows do.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voiceagent.dialog.clinic import ClinicInfo
from voiceagent.dialog.state import DialogState
from voiceagent.store import Actor
from voiceagent.understanding.nlu import Understanding


@dataclass
class ActionContext:
    session: Session
    actor: Actor
    call_sid: str
    caller_number: str | None
    clinic: ClinicInfo
    now: datetime  # aware, in the clinic's time zone
    state: DialogState
    nlu: Understanding

    def require_patient(self) -> str:
        """The verified patient's id; actions on a record are refused without one."""
        if not self.state.verified or self.state.patient_id is None:
            raise ActionRefused("identity_not_verified")
        return self.state.patient_id


class ActionRefused(Exception):
    """An action that must not run now; ``code`` is safe to log (never patient data)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


ActionFn = Callable[..., Any]


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, ActionFn] = {}

    def register(self, name: str | None = None) -> Callable[[ActionFn], ActionFn]:
        def decorate(fn: ActionFn) -> ActionFn:
            key = name or fn.__name__
            if key in self._actions:
                raise ValueError(f"action {key!r} registered twice")
            self._actions[key] = fn
            return fn

        return decorate

    def names(self) -> list[str]:
        return sorted(self._actions)

    def parameters(self, name: str) -> list[str]:
        signature = inspect.signature(self._actions[name])
        return [p for p in signature.parameters if p != "ctx"]

    def call(self, name: str, ctx: ActionContext, args: dict[str, Any]) -> Any:
        return self._actions[name](ctx, **args)


ACTIONS = ActionRegistry()
action = ACTIONS.register
