"""Twilio Media Streams messages, parsed strictly and built exactly.

Reference: https://www.twilio.com/docs/voice/media-streams/websocket-messages
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_MESSAGE_BYTES = 64 * 1024


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Connected(_Message):
    event: Literal["connected"]
    protocol: str | None = None
    version: str | None = None


class MediaFormat(_Message):
    encoding: str = "audio/x-mulaw"
    sample_rate: int = Field(8000, alias="sampleRate")
    channels: int = 1


class StartInfo(_Message):
    stream_sid: str = Field(alias="streamSid")
    account_sid: str = Field(alias="accountSid")
    call_sid: str = Field(alias="callSid")
    tracks: list[str] = Field(default_factory=lambda: ["inbound"])
    custom_parameters: dict[str, str] = Field(default_factory=dict, alias="customParameters")
    media_format: MediaFormat = Field(default_factory=MediaFormat, alias="mediaFormat")


class Start(_Message):
    event: Literal["start"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    start: StartInfo
    stream_sid: str | None = Field(None, alias="streamSid")


class MediaInfo(_Message):
    track: str = "inbound"
    chunk: str | None = None
    timestamp: str | None = None
    payload: str


class Media(_Message):
    event: Literal["media"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    media: MediaInfo
    stream_sid: str | None = Field(None, alias="streamSid")

    def audio(self) -> bytes:
        """The mu-law bytes; raises ProtocolError on bad base64."""
        try:
            return base64.b64decode(self.media.payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("bad_base64") from exc


class DtmfInfo(_Message):
    track: str | None = None
    digit: str


class Dtmf(_Message):
    event: Literal["dtmf"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    dtmf: DtmfInfo
    stream_sid: str | None = Field(None, alias="streamSid")


class MarkInfo(_Message):
    name: str


class Mark(_Message):
    event: Literal["mark"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    mark: MarkInfo
    stream_sid: str | None = Field(None, alias="streamSid")


class StopInfo(_Message):
    account_sid: str | None = Field(None, alias="accountSid")
    call_sid: str | None = Field(None, alias="callSid")


class Stop(_Message):
    event: Literal["stop"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    stop: StopInfo = Field(default_factory=StopInfo)
    stream_sid: str | None = Field(None, alias="streamSid")


InboundMessage = Annotated[
    Connected | Start | Media | Dtmf | Mark | Stop, Field(discriminator="event")
]
_inbound = TypeAdapter(InboundMessage)
KNOWN_EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop"})


class ProtocolError(ValueError):
    """A message we cannot use. ``kind`` is safe to log; it never carries content."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def parse_message(raw: str | bytes) -> Connected | Start | Media | Dtmf | Mark | Stop:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("oversized", f"{len(raw)} bytes")
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError("malformed_json") from exc
    if not isinstance(data, dict):
        raise ProtocolError("not_an_object")
    event = data.get("event")
    if event not in KNOWN_EVENTS:
        # The event name is protocol vocabulary, not caller content, but cap it anyway.
        raise ProtocolError("unknown_event", str(event)[:32])
    try:
        return _inbound.validate_python(data)
    except ValidationError as exc:
        fields = ",".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise ProtocolError("invalid_fields", f"{event}: {fields}"[:200]) from exc


# --- messages we send -------------------------------------------------------------------
def media_message(stream_sid: str, mulaw: bytes) -> str:
    payload = base64.b64encode(mulaw).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark_message(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
