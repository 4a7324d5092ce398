"""The fixed prompts are synthesized in the background one phrase per job, so a call that
comes in while the server warms up waits for one phrase at most, and a shutdown drops the
phrases not yet started instead of waiting for all of them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import isolated_settings
from voiceagent.runtime import Runtime, SpeechServices
from voiceagent.simulate.sandbox import prepare_database, sandbox_settings
from voiceagent.speech.pool import Priority, SpeechPool
from voiceagent.speech.tts import SpeechSynthesizer


def test_a_call_and_a_shutdown_do_not_wait_for_the_whole_warm_up(
    tmp_path: Path, speech_services: SpeechServices
) -> None:
    settings = sandbox_settings(isolated_settings(), tmp_path, port=0)
    prepare_database(settings)
    pool = SpeechPool(workers=1)
    cold = SpeechServices(
        recognizer=speech_services.recognizer,
        synthesizer=SpeechSynthesizer(),  # an empty phrase cache
        pool=pool,
    )
    runtime = Runtime.start(settings, cold)
    try:
        prompts = runtime.dialogs.fixed_phrases()[1:]
        assert len(prompts) > 20
        assert pool.backlog >= len(prompts) - 2  # queued phrase by phrase

        call_work = pool.submit(lambda: "a caller's turn", priority=Priority.INTERACTIVE)
        assert call_work.result(timeout=60) == "a caller's turn"
        cached_when_the_call_ran = sum(cold.synthesizer.cached(p) is not None for p in prompts)
        assert cached_when_the_call_ran <= 2  # it went ahead of the rest of the warm-up
    finally:
        pool.shutdown(wait=True)
        runtime.close()
    cached = sum(cold.synthesizer.cached(p) is not None for p in prompts)
    assert cached < len(prompts) // 2  # the queued phrases were dropped, not synthesized
