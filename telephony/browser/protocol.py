"""The try-call websocket's wire format, parsed strictly.

Audio travels as binary messages of 16-bit little-endian mono PCM at the rate the page
declared when it connected (``?rate=``, normally 8000): the browser sends 20 ms frames of
its microphone, the server sends the agent's voice in 20 ms frames. Everything else is a
small JSON object with a ``type``:

page -> server: ``{"type": "dtmf", "digit": "5"}``, ``{"type": "mark", "name": "prompt-3"}``
(the page has played everything sent before that mark), ``{"type": "hangup"}``.

server -> page: ``ready`` (the call's id and its page in call history), ``mark``, ``clear``
(drop queued agent audio: the caller talked over it), ``transfer`` (the agent would now hand
the call to the front desk), ``hangup`` (the agent ended the call).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# The first entry offers the protocol; the page adds ``csrf-<token>`` next to it, so the
# token rides on the upgrade request without ever appearing in a URL.
SUBPROTOCOL = "voiceagent-try-call"
CSRF_PREFIX = "csrf-"
# Rates a page may declare. 8 kHz, the phone's own, is what the page asks its AudioContext
# for; the others are what a browser that refuses 8 kHz runs at (see audio.py).
RATES = frozenset({8000, 16000, 22050, 24000, 32000, 44100, 48000})
DEFAULT_RATE = 8000
AGENT_RATE = 8000
MAX_CONTROL_CHARS = 1024
MAX_AUDIO_MS = 100  # a page sends 20 ms at a time; allow some batching, no more


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dtmf(_Message):
    type: Literal["dtmf"]
    digit: str = Field(pattern=r"^[0-9*#]$")


class Mark(_Message):
    type: Literal["mark"]
    name: str = Field(min_length=1, max_length=64)


class Hangup(_Message):
    type: Literal["hangup"]


Control = Annotated[Dtmf | Mark | Hangup, Field(discriminator="type")]
_control = TypeAdapter(Control)
KNOWN_TYPES = frozenset({"dtmf", "mark", "hangup"})


class ProtocolError(ValueError):
    """A message we cannot use. ``kind`` is safe to log; it never carries content."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def parse_control(raw: str) -> Dtmf | Mark | Hangup:
    if len(raw) > MAX_CONTROL_CHARS:
        raise ProtocolError("oversized", f"{len(raw)} chars")
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProtocolError("malformed_json") from exc
    if not isinstance(data, dict):
        raise ProtocolError("not_an_object")
    kind = data.get("type")
    if kind not in KNOWN_TYPES:
        raise ProtocolError("unknown_type", str(kind)[:32])
    try:
        return _control.validate_python(data)
    except ValidationError as exc:
        fields = ",".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise ProtocolError("invalid_fields", f"{kind}: {fields}"[:200]) from exc


def max_audio_bytes(rate: int) -> int:
    return rate * 2 * MAX_AUDIO_MS // 1000


# --- messages we send -------------------------------------------------------------------
def _dump(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"))


def ready_message(call_sid: str, rate: int, call_url: str, disclosure: str) -> str:
    return _dump(
        {
            "type": "ready",
            "call_sid": call_sid,
            "rate": rate,
            "call_url": call_url,
            "disclosure": disclosure,
        }
    )


def mark_message(name: str) -> str:
    return _dump({"type": "mark", "name": name})


def clear_message() -> str:
    return _dump({"type": "clear"})


def transfer_message(reason_code: str, urgency: str) -> str:
    reason = reason_code.replace("_", " ")
    text = f"The agent would now transfer the caller to the front desk (reason: {reason})."
    return _dump({"type": "transfer", "reason": reason_code, "urgency": urgency, "message": text})


def hangup_message() -> str:
    return _dump({"type": "hangup", "by": "agent"})
