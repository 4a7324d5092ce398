"""The speech layer: phone audio in and out, turn detection, recognition and synthesis.

Depends on nothing else in the product. Names are re-exported lazily (PEP 562) so that
importing the light modules (``codec``, ``frames``, ``resample``, ``vad``) from the telephony
hot path does not pull in faster-whisper, CTranslate2, Piper and onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceagent.speech.asr import SpeechRecognizer, Transcript
    from voiceagent.speech.codec import ulaw_decode, ulaw_encode
    from voiceagent.speech.frames import Reframer, split_frames
    from voiceagent.speech.pool import Priority, SpeechPool
    from voiceagent.speech.resample import (
        StreamResampler,
        float32_to_pcm16,
        pcm16_to_float32,
        resample,
    )
    from voiceagent.speech.tts import SpeechSynthesizer
    from voiceagent.speech.vad import (
        Endpointer,
        EndpointerConfig,
        EndpointerEvent,
        SpeechStarted,
        UtteranceDiscarded,
        UtteranceEnded,
    )

_EXPORTS = {
    "SpeechRecognizer": "asr",
    "Transcript": "asr",
    "ulaw_decode": "codec",
    "ulaw_encode": "codec",
    "Reframer": "frames",
    "split_frames": "frames",
    "Priority": "pool",
    "SpeechPool": "pool",
    "StreamResampler": "resample",
    "float32_to_pcm16": "resample",
    "pcm16_to_float32": "resample",
    "resample": "resample",
    "SpeechSynthesizer": "tts",
    "Endpointer": "vad",
    "EndpointerConfig": "vad",
    "EndpointerEvent": "vad",
    "SpeechStarted": "vad",
    "UtteranceDiscarded": "vad",
    "UtteranceEnded": "vad",
}

__all__ = [
    "Endpointer",
    "EndpointerConfig",
    "EndpointerEvent",
    "Priority",
    "Reframer",
    "SpeechPool",
    "SpeechRecognizer",
    "SpeechStarted",
    "SpeechSynthesizer",
    "StreamResampler",
    "Transcript",
    "UtteranceDiscarded",
    "UtteranceEnded",
    "float32_to_pcm16",
    "pcm16_to_float32",
    "resample",
    "split_frames",
    "ulaw_decode",
    "ulaw_encode",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
