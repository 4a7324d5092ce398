"""The speech worker pool: bounded, prioritised, cancel-safe (no models needed).

Ordering is forced with events and barriers rather than sleeps, so nothing here depends on
machine speed; each wait has a generous timeout so a bug fails the test instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from voiceagent.speech.pool import Priority, SpeechPool

WAIT = 10.0  # seconds; only reached if something is broken


@pytest.fixture
def pool() -> Iterator[SpeechPool]:
    speech_pool = SpeechPool(workers=2)
    yield speech_pool
    speech_pool.shutdown()


def _block_workers(pool: SpeechPool) -> tuple[threading.Event, list[asyncio.Future[None]]]:
    """Occupy every worker until the returned event is set."""
    release = threading.Event()
    started = threading.Barrier(pool.workers + 1)

    def hold() -> None:
        started.wait(WAIT)
        release.wait(WAIT)

    futures = [asyncio.wrap_future(pool.submit(hold)) for _ in range(pool.workers)]
    started.wait(WAIT)  # every worker is now inside hold()
    return release, futures


async def test_run_returns_the_result_from_a_speech_thread(pool: SpeechPool) -> None:
    def where(x: int, *, y: int) -> tuple[int, str]:
        return x + y, threading.current_thread().name

    total, thread_name = await pool.run(where, 2, y=3)
    assert total == 5
    assert thread_name.startswith("speech-")
    assert thread_name != threading.current_thread().name


async def test_exceptions_reach_the_caller(pool: SpeechPool) -> None:
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await pool.run(fail)
    assert await pool.run(lambda: "still working") == "still working"


async def test_at_most_workers_jobs_run_at_once(pool: SpeechPool) -> None:
    lock = threading.Lock()
    pair = threading.Barrier(2)  # each job waits for a partner: proves two run together
    running = 0
    peak = 0

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        pair.wait(WAIT)
        with lock:
            running -= 1

    await asyncio.gather(*(pool.run(job) for _ in range(12)))
    assert peak == 2


async def test_interactive_work_jumps_the_queue() -> None:
    pool = SpeechPool(workers=1)  # one worker, so the order of execution is fully defined
    release, blockers = _block_workers(pool)
    order: list[str] = []
    jobs = [
        pool.run(order.append, "background-1", priority=Priority.BACKGROUND),
        pool.run(order.append, "normal", priority=Priority.NORMAL),
        pool.run(order.append, "background-2", priority=Priority.BACKGROUND),
        pool.run(order.append, "interactive", priority=Priority.INTERACTIVE),
    ]
    tasks = [asyncio.ensure_future(j) for j in jobs]
    await asyncio.sleep(0)  # let every task enqueue its job
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks, *blockers), WAIT)
    pool.shutdown()
    # By priority, and first come first served within one priority.
    assert order == ["interactive", "normal", "background-1", "background-2"]


async def test_cancelled_work_that_has_not_started_never_runs(pool: SpeechPool) -> None:
    release, blockers = _block_workers(pool)
    ran = threading.Event()
    task = asyncio.ensure_future(pool.run(ran.set))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.wait_for(asyncio.gather(*blockers), WAIT)
    await pool.run(lambda: None)  # the queue has drained past the cancelled job
    await pool.run(lambda: None)
    assert not ran.is_set()


async def test_stream_yields_each_item_as_soon_as_it_is_ready(pool: SpeechPool) -> None:
    consumer_has_first = threading.Event()

    def sentences() -> Iterator[str]:
        yield "first"
        # Deadlocks (and the wait times out) unless "first" reached the consumer already.
        assert consumer_has_first.wait(WAIT)
        yield "second"

    received: list[str] = []
    async for item in pool.stream(sentences):
        received.append(item)
        consumer_has_first.set()
    assert received == ["first", "second"]


async def test_stream_passes_arguments_and_runs_in_the_pool(pool: SpeechPool) -> None:
    def numbered(n: int) -> Iterator[tuple[int, str]]:
        for i in range(n):
            yield i, threading.current_thread().name

    items = [item async for item in pool.stream(numbered, 3)]
    assert [i for i, _ in items] == [0, 1, 2]
    assert all(name.startswith("speech-") for _, name in items)


async def test_stream_stops_the_producer_when_the_consumer_stops(pool: SpeechPool) -> None:
    produced: list[int] = []
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    async with contextlib.aclosing(pool.stream(endless)) as items:
        async for item in items:
            if item == 2:
                break
    assert await asyncio.to_thread(closed.wait, WAIT)
    assert len(produced) <= 4  # items 0-2, plus at most one read ahead


async def test_stream_errors_reach_the_consumer(pool: SpeechPool) -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("synthesis failed")

    received = []
    with pytest.raises(RuntimeError):
        async for item in pool.stream(broken):
            received.append(item)
    assert received == [1]


async def test_cancelling_a_stream_consumer_closes_the_producer(pool: SpeechPool) -> None:
    closed = threading.Event()
    first_seen = asyncio.Event()

    def slow_forever() -> Iterator[int]:
        try:
            while True:
                yield 1
        finally:
            closed.set()

    async def consume() -> None:
        async for _ in pool.stream(slow_forever):
            first_seen.set()
            await asyncio.sleep(WAIT)  # a consumer busy playing audio

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(first_seen.wait(), WAIT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(closed.wait, WAIT)


async def test_shutdown_cancels_queued_work_and_refuses_more() -> None:
    pool = SpeechPool(workers=1)
    release, blockers = _block_workers(pool)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False)  # the worker is still busy, so the job is still queued
    assert queued.cancelled()
    release.set()
    await asyncio.wait_for(asyncio.gather(*blockers), WAIT)  # running work finishes
    with pytest.raises(RuntimeError):
        await pool.run(lambda: None)
    pool.shutdown()  # idempotent


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SpeechPool(workers=0)


def test_backlog_counts_jobs_waiting_for_a_worker() -> None:
    pool = SpeechPool(workers=1)
    release = threading.Event()
    try:
        running = pool.submit(release.wait)
        waiting = [pool.submit(lambda: None) for _ in range(3)]
        deadline = time.monotonic() + 5
        while pool.backlog != 3:  # the first job has been taken by the worker
            assert time.monotonic() < deadline
        assert pool.backlog == 3
        release.set()
        running.result(timeout=5)
        for future in waiting:
            future.result(timeout=5)
        assert pool.backlog == 0
    finally:
        release.set()
        pool.shutdown()
