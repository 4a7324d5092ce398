"""Speech-layer timings on this machine; prints numbers, asserts nothing.

Run: .venv/bin/python tests/speech/bench_speech.py
(Not collected by pytest: speed belongs in benchmarks, not in unit tests.)
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from voiceagent.logs import configure_logging
from voiceagent.speech.asr import SpeechRecognizer
from voiceagent.speech.codec import ulaw_decode, ulaw_encode
from voiceagent.speech.frames import split_frames
from voiceagent.speech.tts import SpeechSynthesizer
from voiceagent.speech.vad import Endpointer


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    configure_logging("WARNING")
    started = time.perf_counter()
    synthesizer = SpeechSynthesizer()
    print(f"tts load: {ms(time.perf_counter() - started)}")
    started = time.perf_counter()
    recognizer = SpeechRecognizer()
    print(f"asr load: {ms(time.perf_counter() - started)}")
    recognizer.warm()

    prompt = "Thanks for calling Maple Street Family Medicine. How can I help you today?"
    firsts, totals = [], []
    for _ in range(5):
        started = time.perf_counter()
        chunks = synthesizer.stream(prompt)
        next(chunks)
        firsts.append(time.perf_counter() - started)
        list(chunks)
        totals.append(time.perf_counter() - started)
    audio_s = len(synthesizer.synthesize(prompt)) / 8000
    print(
        f"tts first chunk: {ms(statistics.median(firsts))}; "
        f"whole {audio_s:.1f} s prompt: {ms(statistics.median(totals))}"
    )

    for text in (
        "Yes.",
        "I'd like to book an appointment.",
        "My insurance changed to Blue Cross Blue Shield and my member ID is W one two three "
        "four five six seven eight nine.",
    ):
        audio = ulaw_decode(ulaw_encode(synthesizer.synthesize(text)))
        runs = [recognizer.transcribe(audio) for _ in range(5)]
        print(
            f"asr {len(audio) / 8000:.1f} s utterance: "
            f"{statistics.median(r.elapsed_ms for r in runs)} ms "
            f"(confidence {runs[0].confidence:.2f})"
        )

    pcm = np.concatenate([synthesizer.synthesize(prompt)] * 10)
    frames = list(split_frames(pcm))
    endpointer = Endpointer()
    started = time.perf_counter()
    for frame in frames:
        endpointer.push(frame)
    per_frame = (time.perf_counter() - started) / len(frames)
    print(f"endpointer: {per_frame * 1e6:.0f} us per 20 ms frame")
    started = time.perf_counter()
    for frame in frames:
        ulaw_decode(ulaw_encode(frame))
    per_frame = (time.perf_counter() - started) / len(frames)
    print(f"mu-law encode+decode: {per_frame * 1e6:.1f} us per 20 ms frame")


if __name__ == "__main__":
    main()
