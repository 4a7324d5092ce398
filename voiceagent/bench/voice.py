"""The caller's audio, prepared before the run so that the client does no synthesis, no
mixing and no encoding while calls are live: every line becomes a tuple of ready base64
mu-law payloads (one per 20 ms frame) plus where its voiced part starts and ends."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from voiceagent.simulate import sounds
from voiceagent.speech.codec import ulaw_encode
from voiceagent.speech.tts import SpeechSynthesizer

BACKGROUND_SECONDS = 10  # a loop of steady noise; long enough not to sound periodic to a VAD


@dataclass(frozen=True)
class Clip:
    payloads: tuple[str, ...]
    first_voiced: int  # frame index of the first voiced frame (-1: none)
    last_voiced: int  # frame index of the last voiced frame (-1: none)

    @property
    def seconds(self) -> float:
        return len(self.payloads) * 0.02


def encode_frames(pcm: np.ndarray) -> tuple[str, ...]:
    """Float or int PCM (8 kHz) -> base64 mu-law payloads of 20 ms."""
    return tuple(
        base64.b64encode(ulaw_encode(frame)).decode("ascii") for frame in sounds.to_frames(pcm)
    )


class CallerVoice:
    """Pre-synthesized caller lines and sounds, by (text, speed, background level)."""

    def __init__(self, synthesizer: SpeechSynthesizer, seed: int = 7) -> None:
        self._synth = synthesizer
        self._rng = np.random.default_rng(seed)
        self._clips: dict[tuple[str, float, float | None], Clip] = {}
        self._backgrounds: dict[float | None, tuple[str, ...]] = {}

    def line(self, text: str, speed: float = 1.0, noise_dbfs: float | None = None) -> Clip:
        key = (text, speed, noise_dbfs)
        if key not in self._clips:
            self._clips[key] = self._clip(sounds.speech(self._synth, text, speed), noise_dbfs)
        return self._clips[key]

    def sound(self, kind: str, noise_dbfs: float | None = None) -> Clip:
        key = (f"<{kind}>", 1.0, noise_dbfs)
        if key not in self._clips:
            if kind == "cough":
                pcm = sounds.cough(self._rng)
            elif kind == "click":
                pcm = sounds.click()
            elif kind == "mhm":
                pcm = sounds.mhm(self._synth)
            else:
                raise ValueError(f"unknown sound {kind!r}")
            self._clips[key] = self._clip(pcm, noise_dbfs)
        return self._clips[key]

    def background(self, noise_dbfs: float | None) -> tuple[str, ...]:
        """What the line carries while the caller is silent: digital silence or room noise."""
        if noise_dbfs not in self._backgrounds:
            if noise_dbfs is None:
                pcm = np.zeros(sounds.FRAME, dtype=np.float32)
            else:
                samples = BACKGROUND_SECONDS * sounds.RATE
                pcm = sounds.background_noise(samples, noise_dbfs, self._rng)
            self._backgrounds[noise_dbfs] = encode_frames(pcm)
        return self._backgrounds[noise_dbfs]

    def _clip(self, pcm: np.ndarray, noise_dbfs: float | None) -> Clip:
        # Voiced frames are judged on the clean signal: the noise is not the caller talking.
        flags = sounds.voiced_flags(sounds.to_frames(pcm))
        voiced = [i for i, flag in enumerate(flags) if flag]
        mixed = pcm.astype(np.float32)
        if noise_dbfs is not None:
            mixed = mixed + sounds.background_noise(len(mixed), noise_dbfs, self._rng)
        return Clip(
            payloads=encode_frames(mixed),
            first_voiced=voiced[0] if voiced else -1,
            last_voiced=voiced[-1] if voiced else -1,
        )
