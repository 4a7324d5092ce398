"""Caller-side audio: synthesized speech, background noise and non-speech sounds.

All output is 8 kHz int16, the phone's own format before mu-law.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from voiceagent.speech.tts import SpeechSynthesizer

RATE = 8000
FRAME = 160


def dbfs_to_amplitude(dbfs: float) -> float:
    return 32768.0 * 10 ** (dbfs / 20)


def background_noise(samples: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Steady pink-ish noise (room and line hiss) at an RMS level of ``dbfs``."""
    white = rng.standard_normal(samples + 64)
    # A one-pole low-pass tilts white noise towards the low end, like real rooms.
    pinkish = lfilter([1.0], [1.0, -0.95], white)[64:]
    pinkish /= np.sqrt(np.mean(pinkish**2)) or 1.0
    return (pinkish * dbfs_to_amplitude(dbfs)).astype(np.float32)


def cough(rng: np.random.Generator, level_dbfs: float = -12.0) -> np.ndarray:
    """A cough-like burst: broadband noise with a sharp attack and fast decay (~200 ms)."""
    samples = int(0.2 * RATE)
    envelope = np.exp(-np.linspace(0, 6, samples)) * np.minimum(1, np.arange(samples) / 40)
    burst = rng.standard_normal(samples) * envelope
    burst /= np.max(np.abs(burst)) or 1.0
    return (burst * dbfs_to_amplitude(level_dbfs)).astype(np.float32)


def click(level_dbfs: float = -6.0) -> np.ndarray:
    """A handset click: a few milliseconds of impulse and ring."""
    samples = int(0.015 * RATE)
    ring = np.sin(np.arange(samples) * 2 * np.pi * 1200 / RATE) * np.exp(-np.arange(samples) / 20)
    return (ring * dbfs_to_amplitude(level_dbfs)).astype(np.float32)


def speech(synth: SpeechSynthesizer, text: str, speed: float = 1.0) -> np.ndarray:
    """``speed`` is a speaking rate: 1.2 talks 20% faster (Piper's length scale is its inverse)."""
    pcm = synth.synthesize(text, length_scale=1.0 / speed if speed != 1.0 else None)
    return pcm.astype(np.float32)


def mhm(synth: SpeechSynthesizer) -> np.ndarray:
    """A short backchannel, as a listener makes while the other person talks (~0.4 s)."""
    return speech(synth, "Uh-huh.")


def to_frames(pcm: np.ndarray) -> list[np.ndarray]:
    """Cut float or int PCM into 20 ms int16 frames, zero-padding the last."""
    padded = np.concatenate([pcm, np.zeros(-len(pcm) % FRAME, dtype=pcm.dtype)])
    clipped = np.clip(np.round(padded), -32768, 32767).astype(np.int16)
    return [clipped[i : i + FRAME] for i in range(0, len(clipped), FRAME)]


def voiced_flags(frames: list[np.ndarray], floor_dbfs: float = -40.0) -> list[bool]:
    """Which frames carry sound above ``floor_dbfs`` (for timing the end of speech)."""
    floor = dbfs_to_amplitude(floor_dbfs)
    return [float(np.sqrt(np.mean(f.astype(np.float64) ** 2))) > floor for f in frames]
