"""Piper synthesis for the phone line (real voice)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from voiceagent.speech.asr import SpeechRecognizer, normalise
from voiceagent.speech.pool import SpeechPool
from voiceagent.speech.tts import PhraseCache, SpeechSynthesizer

from .audio import phone_line, sound_extent_ms

# --- the phrase cache (no model) -------------------------------------------------------


def test_phrase_cache_is_a_bounded_lru() -> None:
    cache = PhraseCache(max_size=2)
    a, b, c = (np.full(10, i, dtype=np.int16) for i in (1, 2, 3))
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", c)
    assert "b" not in cache
    assert "a" in cache and "c" in cache
    assert len(cache) == 2


def test_phrase_cache_hands_out_copies() -> None:
    cache = PhraseCache(max_size=4)
    original = np.arange(10, dtype=np.int16)
    cache.put("hello", original)
    original[:] = 0  # the caller's array is not the stored one
    got = cache.get("hello")
    assert got is not None
    got[:] = -1  # nor is the one handed out
    again = cache.get("hello")
    assert again is not None and np.array_equal(again, np.arange(10))


def test_phrase_cache_of_size_zero_keeps_nothing() -> None:
    cache = PhraseCache(max_size=0)
    cache.put("x", np.zeros(3, dtype=np.int16))
    assert cache.get("x") is None
    with pytest.raises(ValueError):
        PhraseCache(max_size=-1)


# --- with the voice --------------------------------------------------------------------


@pytest.mark.audio
def test_output_is_int16_8k_with_plausible_duration(synthesizer: SpeechSynthesizer) -> None:
    text = "Thanks for calling Maple Street Family Medicine."  # 7 words, 15 syllables
    audio = synthesizer.synthesize(text)
    assert synthesizer.sample_rate == 8000
    assert audio.dtype == np.int16 and audio.ndim == 1
    seconds = len(audio) / 8000
    assert 1.5 < seconds < 4.5  # 3-8 syllables a second plus a short tail
    start_ms, end_ms = sound_extent_ms(audio)
    assert start_ms < 40  # leading silence is latency on a phone line: trimmed
    assert 50 <= seconds * 1000 - end_ms <= 260  # a short natural tail is kept
    assert np.abs(audio.astype(np.int32)).max() < 32767  # headroom, no clipping


@pytest.mark.audio
def test_speaking_rate(synthesizer: SpeechSynthesizer) -> None:
    text = "Please say your date of birth."
    normal = len(synthesizer.synthesize(text))
    slow = len(synthesizer.synthesize(text, length_scale=1.5))
    fast = len(synthesizer.synthesize(text, length_scale=0.75))
    assert fast < 0.9 * normal
    assert slow > 1.25 * normal
    with pytest.raises(ValueError):
        synthesizer.synthesize(text, length_scale=0.0)


@pytest.mark.audio
def test_stream_yields_sentence_by_sentence(synthesizer: SpeechSynthesizer) -> None:
    text = "Your appointment is confirmed. Is there anything else I can help with?"
    chunks = list(synthesizer.stream(text))
    assert len(chunks) == 2
    assert all(c.dtype == np.int16 and len(c) > 4000 for c in chunks)
    whole = synthesizer.synthesize(text)
    assert abs(sum(len(c) for c in chunks) - len(whole)) <= 160
    # Deterministic voice: the streamed audio is exactly the one-shot audio.
    assert np.array_equal(np.concatenate(chunks), whole)


@pytest.mark.audio
async def test_stream_through_the_speech_pool(synthesizer: SpeechSynthesizer) -> None:
    text = "Let me look that up. One moment please."
    pool = SpeechPool(workers=2)
    try:
        chunks = [c async for c in pool.stream(synthesizer.stream, text)]
    finally:
        pool.shutdown()
    assert len(chunks) == 2
    assert np.array_equal(np.concatenate(chunks), synthesizer.synthesize(text))


@pytest.mark.audio
def test_warm_and_cached(synthesizer: SpeechSynthesizer) -> None:
    greeting = "Thank you for calling. How can I help you today?"
    dynamic = "Your appointment is on Tuesday at nine."
    assert synthesizer.cached(greeting) is None
    synthesizer.warm([greeting])
    hit = synthesizer.cached(greeting)
    assert hit is not None and hit.dtype == np.int16
    assert np.array_equal(synthesizer.synthesize(greeting), hit)
    assert [len(c) for c in synthesizer.stream(greeting)] == [len(hit)]  # one ready chunk
    # Dynamic sentences (they may carry patient data) are never kept.
    synthesizer.synthesize(dynamic)
    list(synthesizer.stream(dynamic))
    assert synthesizer.cached(dynamic) is None


@pytest.mark.audio
def test_concurrent_synthesis_matches_serial(synthesizer: SpeechSynthesizer) -> None:
    texts = ["One moment please.", "I found your record.", "Goodbye.", "Let me check."]
    serial = [synthesizer.synthesize(t) for t in texts]
    barrier = threading.Barrier(len(texts))

    def together(text: str) -> np.ndarray:
        barrier.wait()  # start all four at the same moment
        return synthesizer.synthesize(text)

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        parallel = list(pool.map(together, texts))
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel, strict=True))


@pytest.mark.audio
def test_round_trip_through_the_phone_line(
    synthesizer: SpeechSynthesizer, recognizer: SpeechRecognizer
) -> None:
    text = "Your prescription refill request has been sent to the pharmacy."
    heard = normalise(recognizer.transcribe(phone_line(synthesizer.synthesize(text))).text)
    assert {"prescription", "refill", "request", "sent", "pharmacy"} <= set(heard.split())
