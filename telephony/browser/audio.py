"""Between the page's sample rate and the call's 8 kHz.

The page asks its AudioContext for 8 kHz, the phone's own rate: the browser's resampler then
converts the microphone and the speaker sample by sample (Chrome's sinc resampler, a few ms
of delay), and the frames pass through here untouched, exactly as a phone call's would.

A browser that refuses an 8 kHz context declares its own rate and soxr converts here, the
same band-limited filter the rest of the product uses (no resampler in JavaScript). It costs
latency: soxr's streaming resampler works in blocks and at its "HQ" setting hands out audio
about 100 ms at a time, so that path adds up to ~100 ms each way. Streams carry the filter
state across frames, so 50 frames a second never click.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from telephony.browser.protocol import AGENT_RATE
from voiceagent.speech.resample import StreamResampler

FRAME_SAMPLES = AGENT_RATE // 50  # 20 ms at 8 kHz
_WIRE = np.dtype("<i2")  # little-endian int16, what Int16Array is on every browser platform


class InboundAudio:
    """Page PCM16 (any chunk length) -> exact 20 ms frames of 8 kHz int16."""

    def __init__(self, rate: int) -> None:
        self._resampler = StreamResampler(rate, AGENT_RATE)
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, data: bytes) -> list[npt.NDArray[np.int16]]:
        pcm = np.frombuffer(data, dtype=_WIRE).astype(np.int16)
        narrow = np.asarray(self._resampler.process(pcm), dtype=np.int16)
        pcm = np.concatenate([self._pending, narrow])
        whole = len(pcm) - len(pcm) % FRAME_SAMPLES
        self._pending = pcm[whole:]
        return [pcm[i : i + FRAME_SAMPLES] for i in range(0, whole, FRAME_SAMPLES)]


class OutboundAudio:
    """The agent's 8 kHz frames -> PCM16 bytes at the page's rate.

    Each prompt is its own stream: :meth:`end_prompt` flushes the filter's tail before the
    prompt's mark goes out (so the mark follows all of its audio), :meth:`drop` throws it
    away when the caller talks over the agent.
    """

    def __init__(self, rate: int) -> None:
        self._resampler = StreamResampler(AGENT_RATE, rate)

    def frame(self, pcm: npt.NDArray[np.int16]) -> bytes:
        return _to_wire(self._resampler.process(np.asarray(pcm, dtype=np.int16)))

    def end_prompt(self) -> bytes:
        return _to_wire(self._resampler.flush())

    def drop(self) -> None:
        self._resampler.flush()


def _to_wire(pcm: npt.NDArray[np.generic]) -> bytes:
    return np.asarray(pcm, dtype=np.int16).astype(_WIRE).tobytes()
