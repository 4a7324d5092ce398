"""Pacing of the agent's audio: real time, a small lead, marks last, clear drops the rest."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from voiceagent.playout import FRAME_SECONDS, Playout, mark_name, parse_mark


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    async def audio(self, pcm: np.ndarray) -> None:
        assert pcm.dtype == np.int16 and len(pcm) == 160
        self.events.append((time.monotonic(), "audio"))

    async def mark(self, name: str) -> None:
        self.events.append((time.monotonic(), name))


def tone(seconds: float) -> np.ndarray:
    return (np.sin(np.arange(int(8000 * seconds)) * 0.3) * 8000).astype(np.int16)


async def test_frames_leave_in_real_time_after_a_short_lead() -> None:
    sink = Recorder()
    playout = Playout(sink.audio, sink.mark, lead_frames=3)
    task = asyncio.create_task(playout.run())
    prompt = playout.new_prompt("hello")
    start = time.monotonic()
    playout.enqueue(prompt, tone(1.0))
    playout.finish(prompt)
    await playout.drained()
    task.cancel()
    audio_times = [t - start for t, kind in sink.events if kind == "audio"]
    assert len(audio_times) == 50
    # The lead goes out at once; the rest follows the clock, not faster.
    assert audio_times[3] < 0.05
    # Never ahead of the clock; behind it only by what a loaded machine's scheduling adds.
    assert 46 * FRAME_SECONDS - 0.02 <= audio_times[-1] <= 46 * FRAME_SECONDS + 0.3
    assert sink.events[-1][1] == mark_name(prompt.prompt_id)
    assert playout.stats.underruns == 0
    assert not playout.busy


async def test_clear_drops_unsent_audio_and_reports_what_was_heard() -> None:
    sink = Recorder()
    playout = Playout(sink.audio, sink.mark, lead_frames=2)
    task = asyncio.create_task(playout.run())
    prompt = playout.new_prompt("a long sentence")
    started = time.monotonic()
    playout.enqueue(prompt, tone(3.0))
    playout.finish(prompt)
    await asyncio.sleep(0.5)
    cut = playout.clear()
    elapsed = time.monotonic() - started
    sent_at_clear = playout.stats.frames_sent
    await asyncio.sleep(0.2)
    task.cancel()
    assert [p.prompt_id for p in cut] == [prompt.prompt_id]
    assert playout.stats.frames_sent == sent_at_clear  # nothing leaves after a clear
    # The lead plus real time until the clear (measured: the sleep may run long).
    assert abs(sent_at_clear - (2 + elapsed / FRAME_SECONDS)) <= 3
    heard = playout.heard_ms(prompt)
    assert 350 <= heard <= sent_at_clear * 20
    assert all(kind == "audio" for _, kind in sink.events)  # the mark never went out


async def test_mark_echo_ends_busy_and_counts_as_heard() -> None:
    sink = Recorder()
    playout = Playout(sink.audio, sink.mark, lead_frames=3)
    task = asyncio.create_task(playout.run())
    prompt = playout.new_prompt("yes")
    playout.enqueue(prompt, tone(0.1))
    playout.finish(prompt)
    while not any(kind.startswith("prompt-") for _, kind in sink.events):
        await asyncio.sleep(0.005)
    assert playout.busy  # the lead is still in the caller's ear
    playout.mark_heard(mark_name(prompt.prompt_id))
    task.cancel()
    assert not playout.busy
    assert playout.heard_ms(prompt) == 100


async def test_a_slow_producer_is_counted_as_an_underrun() -> None:
    sink = Recorder()
    playout = Playout(sink.audio, sink.mark, lead_frames=1)
    task = asyncio.create_task(playout.run())
    prompt = playout.new_prompt("first half, then a stall")
    playout.enqueue(prompt, tone(0.1))
    await asyncio.sleep(0.3)  # synthesis stalls longer than the buffered audio
    playout.enqueue(prompt, tone(0.1))
    playout.finish(prompt)
    await playout.drained()
    task.cancel()
    assert playout.stats.underruns == 1


def test_mark_names_round_trip() -> None:
    assert parse_mark(mark_name(42)) == 42
    assert parse_mark("something-else") is None
    assert parse_mark("prompt-x") is None
