"""Cutting PCM into fixed 20 ms frames.

The endpointer, the mu-law wire format and outgoing pacing all work in 20 ms frames, but
audio does not always arrive that way (a synthesized sentence is one long array; a SIP or
browser carrier may deliver 10 ms or 32 ms chunks). These helpers do the cutting in one place.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

__all__ = ["FRAME_MS", "Reframer", "frame_samples", "split_frames"]

FRAME_MS = 20


def frame_samples(sample_rate: int, frame_ms: int = FRAME_MS) -> int:
    """Samples in one frame (160 at 8 kHz, 320 at 16 kHz for 20 ms)."""
    samples, remainder = divmod(sample_rate * frame_ms, 1000)
    if remainder:
        raise ValueError(f"{frame_ms} ms is not a whole number of samples at {sample_rate} Hz")
    return samples


def split_frames(
    pcm: npt.NDArray[np.int16], sample_rate: int = 8000, frame_ms: int = FRAME_MS
) -> Iterator[npt.NDArray[np.int16]]:
    """Yield consecutive frames; the last one is zero-padded to full length.

    Frames are views into ``pcm`` except the padded last one (a copy), so this is cheap
    for long prompts.
    """
    samples = np.asarray(pcm)
    if samples.ndim != 1:
        raise ValueError("split_frames expects mono (1-D) audio")
    size = frame_samples(sample_rate, frame_ms)
    full = len(samples) // size * size
    for start in range(0, full, size):
        yield samples[start : start + size]
    if full < len(samples):
        last = np.zeros(size, dtype=samples.dtype)
        last[: len(samples) - full] = samples[full:]
        yield last


class Reframer:
    """Accumulate chunks of any length and hand out exact frames.

    Keeps the remainder between calls, so no audio is padded or lost mid-stream; ``flush``
    pads the final partial frame at the end of the stream.
    """

    def __init__(self, sample_rate: int = 8000, frame_ms: int = FRAME_MS) -> None:
        self.frame_samples = frame_samples(sample_rate, frame_ms)
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, chunk: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
        """Add a chunk; return every complete frame now available."""
        data = np.asarray(chunk)
        if data.dtype != np.int16 or data.ndim != 1:
            raise ValueError("Reframer expects 1-D int16 PCM")
        buffered = np.concatenate((self._pending, data)) if len(self._pending) else data
        full = len(buffered) // self.frame_samples * self.frame_samples
        frames = [
            buffered[i : i + self.frame_samples].copy() for i in range(0, full, self.frame_samples)
        ]
        self._pending = buffered[full:].copy()
        return frames

    def flush(self) -> list[npt.NDArray[np.int16]]:
        """Return the zero-padded final partial frame, if any, and empty the buffer."""
        if not len(self._pending):
            return []
        last = np.zeros(self.frame_samples, dtype=np.int16)
        last[: len(self._pending)] = self._pending
        self._pending = np.zeros(0, dtype=np.int16)
        return [last]
