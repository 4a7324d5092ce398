"""What one call's dialog remembers between turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from voiceagent.dialog.loader import CompiledStep, Flow
from voiceagent.dialog.slots import SlotRequest

Mode = Literal["menu", "flow", "anything_else", "ended"]
TRANSCRIPT_TURNS = 12  # kept for the handoff summary (in memory; the store has it all)


@dataclass
class Frame:
    """A flow in progress: which step runs next."""

    flow: Flow
    index: int = 0
    # Values this frame filled, in order, with the step that filled them (for "go back"
    # and corrections).
    filled: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Question:
    """The ask or confirm step waiting for the caller's answer."""

    frame: Frame
    step: CompiledStep
    request: SlotRequest | None  # None for a confirm
    attempts: int = 0
    prompt_lines: list[str] = field(default_factory=list)


@dataclass
class DialogState:
    values: dict[str, Any] = field(default_factory=dict)
    stack: list[Frame] = field(default_factory=list)
    question: Question | None = None
    mode: Mode = "menu"
    patient_id: str | None = None
    verified: bool = False
    first_name: str | None = None
    intent: str | None = None  # the first flow the caller asked for
    outcomes: list[str] = field(default_factory=list)
    last_said: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    menu_misses: int = 0
    silences: int = 0
    handed_off: bool = False
    # Failed identity checks on this call: engine state, not a flow value, so neither
    # "start over", "go back", a correction nor a flow edit can reset it.
    identity_failures: int = 0

    def remember(self, speaker: str, text: str) -> None:
        self.transcript.append((speaker, text))
        del self.transcript[:-TRANSCRIPT_TURNS]

    @property
    def frame(self) -> Frame | None:
        return self.stack[-1] if self.stack else None
