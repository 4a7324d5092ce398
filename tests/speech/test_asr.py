"""Whisper recognition of phone-quality speech (real model, real synthesized voice)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voiceagent.speech.asr import (
    SpeechRecognizer,
    confidence_from_scores,
    format_hotwords,
    looks_hallucinated,
    normalise,
)
from voiceagent.speech.frames import split_frames
from voiceagent.speech.vad import Endpointer, UtteranceEnded

from .audio import add_noise, phone_line, silence, white_noise

Say = Callable[[str], npt.NDArray[np.int16]]

# --- pure helpers (no model) ---------------------------------------------------------


def test_hotwords_are_written_as_a_short_list() -> None:
    assert format_hotwords([]) is None
    assert format_hotwords(["", "  "]) is None
    assert format_hotwords(["lisinopril"]) == "Lisinopril."
    assert format_hotwords(["lisinopril", " metformin "]) == "Lisinopril, metformin."


def test_normalise() -> None:
    assert normalise(" Thank you. ") == "thank you"
    assert normalise("[BLANK_AUDIO]") == ""
    assert normalise("(upbeat music) ♪♪") == ""
    assert normalise("I'd like   to BOOK!") == "i'd like to book"


def test_confidence_formula() -> None:
    assert confidence_from_scores(0.0, 0.0) == 1.0
    assert confidence_from_scores(-0.1, 0.2) == pytest.approx(np.exp(-0.1) * 0.8)
    assert confidence_from_scores(float("-inf"), 0.0) == 0.0
    assert 0.0 <= confidence_from_scores(-5.0, 0.99) < 0.01


@pytest.mark.parametrize(
    ("text", "avg_logprob", "no_speech_prob", "expected"),
    [
        (".", -0.2, 0.1, True),  # punctuation only
        ("[BLANK_AUDIO]", -0.2, 0.1, True),  # annotation only
        ("Thank you.", -1.2, 0.9, True),  # stock phrase on silence
        ("you", -0.4, 0.5, True),  # stock phrase, model unsure there was speech
        ("Thank you.", -0.1, 0.05, False),  # a caller really saying thanks
        ("I need a refill", -1.5, 0.8, True),  # Whisper's own no-speech rule
        ("I need a refill", -0.3, 0.8, False),  # confident words survive a high no-speech
        ("Yes.", -0.13, 0.24, False),
    ],
)
def test_hallucination_rules(
    text: str, avg_logprob: float, no_speech_prob: float, expected: bool
) -> None:
    assert looks_hallucinated(text, avg_logprob, no_speech_prob) is expected


def test_missing_model_directory_fails_instead_of_downloading(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SpeechRecognizer(tmp_path / "no-such-model")


# --- with the model --------------------------------------------------------------------


@pytest.mark.audio
def test_booking_request_through_the_phone_line(recognizer: SpeechRecognizer, say: Say) -> None:
    audio = phone_line(say("I'd like to book an appointment."))
    transcript = recognizer.transcribe(audio, sample_rate=8000)
    words = normalise(transcript.text).split()
    assert "book" in words and "appointment" in words
    assert transcript.confidence > 0.5
    assert transcript.audio_ms == len(audio) // 8
    assert transcript.elapsed_ms > 0
    assert transcript.no_speech_prob < 0.5


@pytest.mark.audio
def test_endpointed_utterance_in_line_noise_is_recognised(
    recognizer: SpeechRecognizer, say: Say
) -> None:
    # The full path a caller's words take: phone line -> endpointer -> recognizer.
    signal = np.concatenate(
        [silence(800), say("Can I move my appointment to Tuesday?"), silence(900)]
    )
    signal = phone_line(add_noise(signal, -55.0, seed=2))
    endpointer = Endpointer()
    utterances = [
        e for f in split_frames(signal) for e in endpointer.push(f) if isinstance(e, UtteranceEnded)
    ]
    assert len(utterances) == 1
    words = normalise(recognizer.transcribe(utterances[0].audio).text).split()
    assert {"move", "appointment", "tuesday"} <= set(words)


@pytest.mark.audio
@pytest.mark.parametrize(
    "audio",
    [silence(2000), phone_line(white_noise(2000, -45.0, seed=7))],
    ids=["silence", "line-noise"],
)
def test_silence_and_noise_give_empty_text(
    recognizer: SpeechRecognizer, audio: npt.NDArray[np.int16]
) -> None:
    transcript = recognizer.transcribe(audio)
    assert transcript.text == ""
    assert transcript.confidence < 0.1
    assert transcript.audio_ms == 2000


@pytest.mark.audio
def test_empty_input_skips_the_model(recognizer: SpeechRecognizer) -> None:
    transcript = recognizer.transcribe(np.zeros(0, dtype=np.int16))
    assert transcript.text == "" and transcript.confidence == 0.0 and transcript.audio_ms == 0


@pytest.mark.audio
def test_hotword_recovers_a_medication_name(recognizer: SpeechRecognizer, say: Say) -> None:
    # Through 8 kHz mu-law, tiny.en hears this drug as "listen-up roll" unless told to expect it.
    audio = phone_line(say("I need a refill of my lisinopril."))
    biased = recognizer.transcribe(audio, hotwords=["lisinopril", "metformin"])
    assert "lisinopril" in normalise(biased.text).split()
    assert biased.confidence > 0.5


@pytest.mark.audio
def test_16_khz_float_input_is_accepted(recognizer: SpeechRecognizer, say: Say) -> None:
    from voiceagent.speech.resample import pcm16_to_float32, resample

    wideband = pcm16_to_float32(resample(say("Yes, that's right."), 8000, 16000))
    transcript = recognizer.transcribe(wideband, sample_rate=16000)
    assert {"yes", "right"} <= set(normalise(transcript.text).split())


@pytest.mark.audio
def test_concurrent_calls_give_the_same_answers(recognizer: SpeechRecognizer, say: Say) -> None:
    clips = [phone_line(say(t)) for t in ("Yes.", "No, thank you.", "I'd like to cancel.")]
    serial = [recognizer.transcribe(c).text for c in clips]
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(lambda c: recognizer.transcribe(c).text, clips))
    assert parallel == serial
    assert all(serial)
