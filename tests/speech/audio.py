"""Signal helpers shared by the speech tests (plain functions, no fixtures)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voiceagent.speech.codec import ulaw_decode, ulaw_encode
from voiceagent.speech.frames import split_frames
from voiceagent.speech.vad import Endpointer, EndpointerEvent

RATE = 8000


def silence(ms: int) -> npt.NDArray[np.int16]:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def white_noise(ms: int, dbfs: float, seed: int = 0) -> npt.NDArray[np.int16]:
    """Gaussian noise with the given RMS level."""
    return _noise(RATE * ms // 1000, dbfs, seed)


def add_noise(signal: npt.NDArray[np.int16], dbfs: float, seed: int = 0) -> npt.NDArray[np.int16]:
    """The signal with background noise of the given RMS level under it."""
    return mix(signal, _noise(len(signal), dbfs, seed))


def _noise(n: int, dbfs: float, seed: int) -> npt.NDArray[np.int16]:
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal(n) * 32768.0 * 10.0 ** (dbfs / 20.0)
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


def mix(*signals: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Sum equal-length signals with saturation."""
    total = np.sum([s.astype(np.int32) for s in signals], axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


def phone_line(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """What the far end hears: a G.711 mu-law round trip."""
    return ulaw_decode(ulaw_encode(pcm))


def sound_extent_ms(pcm: npt.NDArray[np.int16], threshold: float = 0.02) -> tuple[float, float]:
    """First and last sample above ``threshold`` of full scale, in ms."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold * 32768)
    assert len(loud), "signal has no sound above the threshold"
    return loud[0] * 1000 / RATE, (loud[-1] + 1) * 1000 / RATE


def push_all(
    endpointer: Endpointer, pcm: npt.NDArray[np.int16]
) -> list[tuple[int, EndpointerEvent]]:
    """Push a signal frame by frame; returns (now_ms when emitted, event) pairs."""
    events: list[tuple[int, EndpointerEvent]] = []
    for frame in split_frames(pcm, RATE):
        events.extend((endpointer.now_ms, event) for event in endpointer.push(frame))
    return events
