"""Parsing Twilio's Media Streams messages: strict on shape, quiet about content."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from telephony.twilio import protocol
from telephony.twilio.media import FrameAssembler
from voiceagent.speech.codec import ulaw_encode


def start_message(token: str = "t0k") -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "streamSid": "MZ1",
                "accountSid": "AC1",
                "callSid": "CA1",
                "tracks": ["inbound"],
                "customParameters": {"token": token},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": "MZ1",
        }
    )


def test_start_message_carries_the_token_and_call() -> None:
    message = protocol.parse_message(start_message("abc"))
    assert isinstance(message, protocol.Start)
    assert message.start.call_sid == "CA1"
    assert message.start.custom_parameters == {"token": "abc"}
    assert message.start.media_format.sample_rate == 8000


def test_media_payload_decodes_and_bad_base64_is_a_protocol_error() -> None:
    payload = base64.b64encode(b"\xff" * 160).decode()
    good = protocol.parse_message(
        json.dumps({"event": "media", "media": {"track": "inbound", "payload": payload}})
    )
    assert isinstance(good, protocol.Media)
    assert good.audio() == b"\xff" * 160
    bad = protocol.parse_message(json.dumps({"event": "media", "media": {"payload": "@@not*"}}))
    with pytest.raises(protocol.ProtocolError) as caught:
        bad.audio()
    assert caught.value.kind == "bad_base64"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        (json.dumps({"event": "dance"}), "unknown_event"),
        (json.dumps({"event": "media"}), "invalid_fields"),
        (json.dumps({"event": "mark", "mark": {}}), "invalid_fields"),
        ("x" * (protocol.MAX_MESSAGE_BYTES + 1), "oversized"),
    ],
)
def test_bad_messages_are_classified(raw: str, kind: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_message(raw)
    assert caught.value.kind == kind


def test_error_detail_never_echoes_content() -> None:
    secret = "Maria Gonzalez 1982-03-03"
    raw = json.dumps({"event": "dtmf", "dtmf": {"digit": None}, "note": secret})
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_message(raw)
    assert secret not in str(caught.value) and secret not in caught.value.detail


def test_outgoing_messages_have_twilios_shape() -> None:
    media = json.loads(protocol.media_message("MZ9", b"\x7f\x80"))
    assert media == {"event": "media", "streamSid": "MZ9", "media": {"payload": "f4A="}}
    assert json.loads(protocol.mark_message("MZ9", "prompt-1")) == {
        "event": "mark",
        "streamSid": "MZ9",
        "mark": {"name": "prompt-1"},
    }
    assert json.loads(protocol.clear_message("MZ9")) == {"event": "clear", "streamSid": "MZ9"}


def test_frame_assembler_recuts_odd_sized_payloads_into_20ms_frames() -> None:
    assembler = FrameAssembler()
    pcm = (np.arange(500) * 37 % 2000 - 1000).astype(np.int16)
    mulaw = ulaw_encode(pcm)
    frames = (
        assembler.push(mulaw[:77]) + assembler.push(mulaw[77:333]) + assembler.push(mulaw[333:])
    )
    assert [len(f) for f in frames] == [160, 160, 160]
    # 20 samples stay pending until more audio arrives.
    assert len(assembler.push(b"")) == 0
    assert len(assembler.push(ulaw_encode(np.zeros(140, dtype=np.int16)))) == 1
