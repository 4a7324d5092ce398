"""Endpointing: turn a stream of 20 ms PCM frames into utterances.

The endpointer decides when the caller has started and finished talking. Its end-of-turn
wait is the largest single part of the agent's response gap, so the decision is tunable per
turn (``set_end_of_turn_ms``), and everything else is kept cheap and predictable.

A frame counts as *voiced* only if webrtcvad says speech **and** its level is above an
absolute energy floor: webrtcvad adapts to the background and will happily call faint line
hiss "speech" after a while of silence; the floor stops that.

Speech starts (hysteresis on the way in) when ``onset_ms`` of voiced frames occur within a
short sliding window (``onset_ms`` plus two frames: 3 of the last 5 by default), so a single
click does not open an utterance but a stop consonant inside a word does not delay it. The
utterance ends (hysteresis on the way out) after ``end_of_turn_ms`` of continuous unvoiced
frames, or is cut at ``max_utterance_ms``. Utterances with less than ``min_utterance_ms`` of
voiced audio are reported as discarded (coughs, clicks, bumps). The audio handed on starts
``pre_roll_ms`` before the detected onset, because the onset is detected a few frames late and
weak first consonants ("f", "h", "s") are often not voiced at all.

Times are milliseconds of audio pushed since the endpointer was created (the call's audio
clock), not wall-clock time, so results are reproducible and tests need no sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import webrtcvad

from voiceagent.speech.frames import FRAME_MS

__all__ = [
    "FRAME_MS",
    "Endpointer",
    "EndpointerConfig",
    "EndpointerEvent",
    "SpeechStarted",
    "UtteranceDiscarded",
    "UtteranceEnded",
    "frame_dbfs",
]

_SUPPORTED_RATES = (8000, 16000)
# Unvoiced frames tolerated inside the onset window: "3 of the last 5" with the defaults.
_ONSET_SLACK_FRAMES = 2


@dataclass(frozen=True)
class EndpointerConfig:
    """Turn-taking parameters (all in milliseconds of audio, rounded to 20 ms frames)."""

    end_of_turn_ms: int = 600  # trailing silence that ends an utterance
    max_utterance_ms: int = 15000  # force an end (reason "max_length")
    onset_ms: int = 60  # voiced time within a short window to declare speech start
    min_utterance_ms: int = 120  # voiced time below which a "speech" blip is discarded as noise
    pre_roll_ms: int = 300  # audio kept from before the onset so first syllables are not lost
    aggressiveness: int = 2  # webrtcvad mode 0-3
    energy_floor_dbfs: float = -50.0  # frames quieter than this are never speech (line hiss)
    # Trailing silence kept at the end of the utterance audio: Whisper is more reliable on the
    # last word when it hears it fade out rather than being cut at the last voiced frame.
    tail_ms: int = 200

    def __post_init__(self) -> None:
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError("aggressiveness must be 0-3 (webrtcvad modes)")
        for name in ("end_of_turn_ms", "max_utterance_ms", "onset_ms"):
            if getattr(self, name) < FRAME_MS:
                raise ValueError(f"{name} must be at least {FRAME_MS} ms")
        for name in ("min_utterance_ms", "pre_roll_ms", "tail_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started talking at ``at_ms`` (first voiced frame of the onset window)."""

    at_ms: int


@dataclass(frozen=True, eq=False)
class UtteranceEnded:
    """A finished utterance.

    ``audio`` is int16 PCM at the endpointer's sample rate: pre-roll + speech + up to
    ``tail_ms`` of the trailing silence. ``started_at_ms`` is the onset (first voiced frame),
    ``ended_at_ms`` the end of the last voiced frame; the end is *declared* later, after the
    end-of-turn wait (that moment is the endpointer's ``now_ms`` when the event is returned).
    ``speech_ms`` counts voiced frames only.
    """

    audio: npt.NDArray[np.int16]
    # "complete": ended early because what was said is already a whole answer.
    reason: Literal["silence", "max_length", "complete"]
    speech_ms: int
    started_at_ms: int
    ended_at_ms: int


@dataclass(frozen=True)
class UtteranceDiscarded:
    """A blip that opened an utterance but had too little voiced audio (click, cough, bump).

    ``at_ms`` is where the blip started.
    """

    at_ms: int
    speech_ms: int


EndpointerEvent = SpeechStarted | UtteranceEnded | UtteranceDiscarded


def frame_dbfs(frame: npt.NDArray[np.int16]) -> float:
    """RMS level of a frame in dB relative to full-scale int16 (digital silence: -inf)."""
    mean_square = float(np.mean(np.square(frame, dtype=np.float64)))
    if mean_square <= 0.0:
        return float("-inf")
    return 10.0 * float(np.log10(mean_square / (32768.0 * 32768.0)))


class Endpointer:
    """Frame-by-frame endpointer; push 20 ms frames, get turn events back.

    Not thread-safe: one endpointer belongs to one call and is driven by its audio task.
    """

    def __init__(self, config: EndpointerConfig | None = None, sample_rate: int = 8000) -> None:
        if sample_rate not in _SUPPORTED_RATES:
            raise ValueError(f"sample_rate must be one of {_SUPPORTED_RATES}")
        self.config = config if config is not None else EndpointerConfig()
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * FRAME_MS // 1000
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        # The floor compared as mean square, so no log per frame.
        self._floor_mean_square = (32768.0**2) * 10.0 ** (self.config.energy_floor_dbfs / 10.0)

        cfg = self.config
        self._onset_frames = _frames(cfg.onset_ms)
        self._window_frames = self._onset_frames + _ONSET_SLACK_FRAMES
        self._pre_roll_frames = _frames(cfg.pre_roll_ms) if cfg.pre_roll_ms else 0
        self._tail_frames = _frames(cfg.tail_ms) if cfg.tail_ms else 0
        self._max_frames = _frames(cfg.max_utterance_ms)
        self._end_of_turn_frames = _frames(cfg.end_of_turn_ms)
        self._min_voiced_frames = _frames(cfg.min_utterance_ms) if cfg.min_utterance_ms else 0

        self._frame_index = 0  # frames pushed so far (the audio clock)
        self._reset_state()

    # --- public state ---------------------------------------------------------------------

    @property
    def in_speech(self) -> bool:
        """True between SpeechStarted and the utterance's end or discard."""
        return self._in_speech

    @property
    def voiced_ms(self) -> int:
        """Voiced time in the current utterance (0 outside one); barge-in decisions use it."""
        return self._voiced_frames * FRAME_MS if self._in_speech else 0

    @property
    def now_ms(self) -> int:
        """Milliseconds of audio pushed so far."""
        return self._frame_index * FRAME_MS

    @property
    def trailing_silence_ms(self) -> int:
        """Unvoiced time since the last voiced frame of the current utterance (0 outside one)."""
        return self._frames_after_voice * FRAME_MS if self._in_speech else 0

    @property
    def last_voiced_ms(self) -> int | None:
        """End of the current utterance's last voiced frame (None outside one)."""
        return (self._last_voiced_index + 1) * FRAME_MS if self._in_speech else None

    def audio_so_far(self) -> npt.NDArray[np.int16]:
        """The current utterance's audio up to now (pre-roll included), for a speculative
        look at what was said before the end of turn is declared."""
        if not self._in_speech or not self._frames_buf:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._frames_buf).astype(np.int16, copy=False)

    def finish_now(self) -> EndpointerEvent | None:
        """End the current utterance at once (its words are already a complete answer)."""
        return self._finish("complete") if self._in_speech else None

    @property
    def end_of_turn_ms(self) -> int:
        return self._end_of_turn_frames * FRAME_MS

    def set_end_of_turn_ms(self, ms: int) -> None:
        """Change the trailing-silence wait, e.g. longer while the caller reads out a number.

        Takes effect immediately, including for an utterance in progress.
        """
        if ms < FRAME_MS:
            raise ValueError(f"end_of_turn_ms must be at least {FRAME_MS} ms")
        self._end_of_turn_frames = _frames(ms)

    def reset(self) -> None:
        """Drop any utterance in progress and the onset history.

        The audio clock (``now_ms``) and the current end-of-turn setting are kept: they
        belong to the call, not to the utterance.
        """
        self._reset_state()

    # --- processing -----------------------------------------------------------------------

    def push(self, frame: npt.NDArray[np.int16]) -> list[EndpointerEvent]:
        """Process one 20 ms frame; returns the events it caused (usually none)."""
        samples = np.asarray(frame)
        if samples.dtype != np.int16 or samples.shape != (self.frame_samples,):
            raise ValueError(
                f"frame must be int16 of shape ({self.frame_samples},) "
                f"(20 ms at {self.sample_rate} Hz), got {samples.dtype} {samples.shape}"
            )
        # Kept frames are copies: a carrier adapter may reuse its buffer for the next frame.
        samples = samples.copy()
        index = self._frame_index
        self._frame_index += 1
        voiced = self._is_voiced(samples)
        if self._in_speech:
            return self._continue_utterance(samples, voiced)
        return self._watch_for_onset(index, samples, voiced)

    def _is_voiced(self, samples: npt.NDArray[np.int16]) -> bool:
        # webrtcvad sees every frame, quiet ones included: its background model adapts from
        # the frames it classifies as noise, and starving it of those makes it erratic.
        speech = bool(self._vad.is_speech(samples.tobytes(), self.sample_rate))
        mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
        return speech and mean_square >= self._floor_mean_square

    def _watch_for_onset(
        self, index: int, samples: npt.NDArray[np.int16], voiced: bool
    ) -> list[EndpointerEvent]:
        self._history.append((index, samples, voiced))
        self._window.append(voiced)
        if sum(self._window) < self._onset_frames:
            return []
        # Onset: the utterance starts at the first voiced frame of the window.
        window_start = len(self._history) - len(self._window)
        first_voiced = window_start + list(self._window).index(True)
        audio_start = max(0, first_voiced - self._pre_roll_frames)
        history = list(self._history)
        self._frames_buf = [f for _, f, _ in history[audio_start:]]
        self._voiced_frames = sum(1 for _, _, v in history[first_voiced:] if v)
        self._start_index = history[first_voiced][0]
        self._last_voiced_index = index
        self._frames_after_voice = 0
        self._in_speech = True
        self._history.clear()
        self._window.clear()
        return [SpeechStarted(at_ms=self._start_index * FRAME_MS)]

    def _continue_utterance(
        self, samples: npt.NDArray[np.int16], voiced: bool
    ) -> list[EndpointerEvent]:
        index = self._frame_index - 1
        self._frames_buf.append(samples)
        if voiced:
            self._voiced_frames += 1
            self._last_voiced_index = index
            self._frames_after_voice = 0
        else:
            self._frames_after_voice += 1
        if self._frames_after_voice >= self._end_of_turn_frames:
            return [self._finish("silence")]
        if index - self._start_index + 1 >= self._max_frames:
            return [self._finish("max_length")]
        return []

    def _finish(self, reason: Literal["silence", "max_length", "complete"]) -> EndpointerEvent:
        started_at_ms = self._start_index * FRAME_MS
        speech_ms = self._voiced_frames * FRAME_MS
        frames = self._frames_buf
        keep_tail = min(self._frames_after_voice, self._tail_frames)
        if self._frames_after_voice:
            frames = frames[: len(frames) - self._frames_after_voice + keep_tail]
        ended_at_ms = (self._last_voiced_index + 1) * FRAME_MS
        too_short = self._voiced_frames < self._min_voiced_frames
        self._reset_state()
        if too_short:
            return UtteranceDiscarded(at_ms=started_at_ms, speech_ms=speech_ms)
        audio = np.concatenate(frames).astype(np.int16, copy=False)
        return UtteranceEnded(
            audio=audio,
            reason=reason,
            speech_ms=speech_ms,
            started_at_ms=started_at_ms,
            ended_at_ms=ended_at_ms,
        )

    def _reset_state(self) -> None:
        self._in_speech = False
        # Pre-onset ring: enough frames for the pre-roll plus the onset window itself.
        self._history: deque[tuple[int, npt.NDArray[np.int16], bool]] = deque(
            maxlen=self._pre_roll_frames + self._window_frames
        )
        self._window: deque[bool] = deque(maxlen=self._window_frames)
        self._frames_buf: list[npt.NDArray[np.int16]] = []
        self._voiced_frames = 0
        self._start_index = 0
        self._last_voiced_index = 0
        self._frames_after_voice = 0


def _frames(ms: int) -> int:
    """Milliseconds to a whole number of 20 ms frames (at least one)."""
    return max(1, round(ms / FRAME_MS))
