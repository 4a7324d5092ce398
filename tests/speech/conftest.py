"""Session-wide speech models: each loads once per test run (about 2 s together).

The synthesizer runs with Piper's noise turned off so that every test hears exactly the
same audio on every run: boundaries, lengths and transcripts are then reproducible, and a
failure is a real regression rather than an unlucky roll of the generator noise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from voiceagent.speech.asr import SpeechRecognizer
from voiceagent.speech.tts import SpeechSynthesizer


@pytest.fixture(scope="session")
def synthesizer() -> SpeechSynthesizer:
    return SpeechSynthesizer(noise_scale=0.0, noise_w_scale=0.0)


@pytest.fixture(scope="session")
def recognizer() -> SpeechRecognizer:
    return SpeechRecognizer()


@pytest.fixture(scope="session")
def say(synthesizer: SpeechSynthesizer) -> Callable[[str], npt.NDArray[np.int16]]:
    """Caller speech at 8 kHz, synthesized once per phrase per session (read-only arrays)."""

    @cache
    def _say(text: str) -> npt.NDArray[np.int16]:
        audio = synthesizer.synthesize(text)
        audio.setflags(write=False)
        return audio

    return _say
