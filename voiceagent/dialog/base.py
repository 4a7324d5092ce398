"""The contract between a live call and whatever decides what the agent says.

A :class:`Dialog` is synchronous and carrier-blind: it receives what the caller said or
pressed and returns a :class:`Reply`. The call session runs it in a worker thread, so a
dialog may read and write the database directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol


class DtmfMode(StrEnum):
    """How keypad presses are gathered for the next answer."""

    SINGLE = "single"  # each key is an answer on its own (menus, 0 for a person)
    DIGITS = "digits"  # collect until '#', a pause, or ``max_digits``


@dataclass(frozen=True)
class Expectation:
    """What the dialog expects to hear next; it steers ASR and the endpointer."""

    hotwords: tuple[str, ...] = ()
    dtmf: DtmfMode = DtmfMode.SINGLE
    max_digits: int | None = None
    # A shorter end-of-turn wait suits answers that are complete when they stop (yes/no);
    # None keeps the configured default.
    end_of_turn_ms: int | None = None
    # Silence before checking whether the words so far are already a complete answer
    # (None: the configured default). Open requests ("I'd like to..., because...") wait
    # longer than closed answers (a yes, a date of birth).
    complete_answer_wait_ms: int | None = None


@dataclass(frozen=True)
class Transfer:
    """Hand the caller to a person; ``handoff_id`` names the stored summary."""

    reason_code: str
    urgency: Literal["routine", "urgent", "emergency"] = "routine"
    handoff_id: str | None = None


@dataclass(frozen=True)
class Hangup:
    """End the call once the reply has been heard."""


Action = Transfer | Hangup


@dataclass(frozen=True)
class Reply:
    """What to say (in order) and what to do after saying it."""

    say: tuple[str, ...] = ()
    action: Action | None = None
    expect: Expectation = field(default_factory=Expectation)
    # Fixed prompts (no patient data) may be cached as audio; dynamic ones never are.
    cacheable: bool = False

    @classmethod
    def text(cls, *sentences: str, **kwargs: object) -> Reply:
        return cls(say=tuple(s for s in sentences if s), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Utterance:
    """One caller turn as the dialog sees it."""

    text: str
    confidence: float
    audio_ms: int
    interrupted_agent: bool = False  # the caller talked over the agent to say this


@dataclass(frozen=True)
class Interruption:
    """The caller cut a prompt short; ``heard_ms`` of ``total_ms`` was played."""

    prompt: str
    heard_ms: int
    total_ms: int


class Dialog(Protocol):
    def greet(self) -> Reply: ...

    def on_utterance(self, utterance: Utterance) -> Reply: ...

    def on_dtmf(self, digits: str) -> Reply: ...

    def on_silence(self) -> Reply: ...

    def on_interrupted(self, interruption: Interruption) -> None: ...

    def on_hangup(self) -> None: ...

    def on_shutdown(self) -> Reply:
        """The server is stopping: what to say and do to hand the caller over (empty when
        the call is already leaving the agent)."""
        ...

    def is_complete(self, text: str) -> bool:
        """Whether ``text`` already answers what the dialog is waiting for, so the caller's
        turn can end without waiting out the full silence. Must not change any state."""
        ...


HangupReason = Literal["caller", "agent", "transferred", "error", "shutdown"]
