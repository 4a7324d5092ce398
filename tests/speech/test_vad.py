"""Endpointer behaviour on synthetic signals and on real synthesized speech."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import butter, lfilter

from voiceagent.speech.vad import (
    Endpointer,
    EndpointerConfig,
    SpeechStarted,
    UtteranceDiscarded,
    UtteranceEnded,
    frame_dbfs,
)

from .audio import (
    add_noise,
    phone_line,
    push_all,
    silence,
    sound_extent_ms,
    white_noise,
)

Say = Callable[[str], npt.NDArray[np.int16]]
# webrtcvad decides per frame and keeps a little hangover after speech, so boundaries are
# checked to within a few frames of where the sound really starts and stops.
START_TOLERANCE_MS = 60
END_TOLERANCE_MS = 160


def ended(events: list) -> list[UtteranceEnded]:
    return [e for _, e in events if isinstance(e, UtteranceEnded)]


# --- input validation and configuration (no models) ------------------------------------


@pytest.mark.parametrize("size", [0, 80, 159, 161, 320])
def test_frames_must_be_20_ms_at_8_khz(size: int) -> None:
    with pytest.raises(ValueError):
        Endpointer().push(np.zeros(size, dtype=np.int16))


def test_16_khz_takes_320_sample_frames_and_other_rates_are_refused() -> None:
    endpointer = Endpointer(sample_rate=16000)
    assert endpointer.push(np.zeros(320, dtype=np.int16)) == []
    with pytest.raises(ValueError):
        endpointer.push(np.zeros(160, dtype=np.int16))
    with pytest.raises(ValueError):
        Endpointer(sample_rate=22050)


def test_frames_must_be_int16() -> None:
    with pytest.raises(ValueError):
        Endpointer().push(np.zeros(160, dtype=np.float32))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        EndpointerConfig(aggressiveness=4)
    with pytest.raises(ValueError):
        EndpointerConfig(end_of_turn_ms=0)
    with pytest.raises(ValueError):
        Endpointer().set_end_of_turn_ms(5)


def test_frame_dbfs() -> None:
    assert frame_dbfs(np.zeros(160, dtype=np.int16)) == float("-inf")
    assert frame_dbfs(np.full(160, 32767, dtype=np.int16)) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(np.full(160, 328, dtype=np.int16)) == pytest.approx(-40.0, abs=0.05)


# --- silence and noise (no models) -----------------------------------------------------


def test_digital_silence_is_quiet_and_the_clock_runs() -> None:
    endpointer = Endpointer()
    assert push_all(endpointer, silence(2000)) == []
    assert endpointer.now_ms == 2000
    assert not endpointer.in_speech and endpointer.voiced_ms == 0


@pytest.mark.parametrize("dbfs", [-65.0, -55.0])
def test_low_level_white_noise_yields_nothing(dbfs: float) -> None:
    events = push_all(Endpointer(), phone_line(white_noise(5000, dbfs)))
    assert events == []


def _band_passed_burst(ms: int, seed: int) -> npt.NDArray[np.int16]:
    """A cough-like burst: 300-2500 Hz noise with a fast attack and exponential decay."""
    rng = np.random.default_rng(seed)
    n = 8 * ms
    b, a = butter(2, [300 / 4000, 2500 / 4000], btype="band")
    burst = lfilter(b, a, rng.standard_normal(n)) * np.exp(-np.arange(n) / (n / 3))
    return (burst / np.max(np.abs(burst)) * 20000).astype(np.int16)


@pytest.mark.parametrize(
    "burst",
    [white_noise(150, -10.0, seed=3), white_noise(150, -25.0, seed=4), _band_passed_burst(150, 5)],
    ids=["loud-white", "white", "cough-like"],
)
def test_short_noise_burst_is_never_long_speech(burst: npt.NDArray[np.int16]) -> None:
    signal = phone_line(np.concatenate([silence(1000), burst, silence(1500)]))
    events = push_all(Endpointer(), signal)
    for utterance in ended(events):
        assert utterance.speech_ms <= 200
        assert len(utterance.audio) <= 8 * 1000  # pre-roll + burst + tail, not seconds
    # Whatever opened must also have closed: no utterance is left hanging.
    started = [e for _, e in events if isinstance(e, SpeechStarted)]
    closed = [e for _, e in events if isinstance(e, UtteranceEnded | UtteranceDiscarded)]
    assert len(started) == len(closed)


def test_a_click_is_discarded_not_reported() -> None:
    # Four 20 ms frames of loud noise: enough to open an utterance, too little to keep it.
    signal = np.concatenate([silence(500), white_noise(80, -10.0, seed=9), silence(1000)])
    endpointer = Endpointer(EndpointerConfig(min_utterance_ms=120))
    events = push_all(endpointer, signal)
    assert [type(e) for _, e in events] == [SpeechStarted, UtteranceDiscarded]
    declared, discarded = events[-1]
    assert isinstance(discarded, UtteranceDiscarded)
    assert discarded.at_ms == 500
    assert 0 < discarded.speech_ms < 120
    assert declared == 580 + 600  # after the end-of-turn silence, like a real end
    assert not endpointer.in_speech


# --- real speech (Piper voice) ---------------------------------------------------------


@pytest.mark.audio
@pytest.mark.parametrize("background_dbfs", [None, -55.0])
def test_utterance_boundaries_follow_the_speech(say: Say, background_dbfs: float | None) -> None:
    speech = say("I'd like to book an appointment for next week.")
    signal = np.concatenate([silence(1500), speech, silence(1500)])
    if background_dbfs is not None:
        signal = add_noise(signal, background_dbfs, seed=1)
    signal = phone_line(signal)
    sound_start, sound_end = sound_extent_ms(speech)
    sound_start += 1500
    sound_end += 1500

    endpointer = Endpointer()
    events = push_all(endpointer, signal)
    assert [type(e) for _, e in events] == [SpeechStarted, UtteranceEnded]
    (declared_start, start), (declared_end, utterance) = events
    assert isinstance(start, SpeechStarted) and isinstance(utterance, UtteranceEnded)
    assert abs(start.at_ms - sound_start) <= START_TOLERANCE_MS
    assert declared_start - start.at_ms <= 100  # the onset is noticed within a few frames
    assert utterance.reason == "silence"
    assert utterance.started_at_ms == start.at_ms
    assert abs(utterance.ended_at_ms - sound_end) <= END_TOLERANCE_MS
    # The end is declared after the configured silence, not earlier and not much later.
    assert declared_end - utterance.ended_at_ms == 600
    assert utterance.speech_ms >= 0.7 * (sound_end - sound_start)

    # The audio is the signal itself: pre-roll + speech + a short tail, all of the speech.
    audio_start_ms = utterance.started_at_ms - 300
    first = audio_start_ms * 8
    assert utterance.audio.dtype == np.int16
    assert np.array_equal(utterance.audio, signal[first : first + len(utterance.audio)])
    audio_end_ms = audio_start_ms + len(utterance.audio) // 8
    assert audio_start_ms <= sound_start - 250
    assert audio_end_ms >= sound_end
    assert audio_end_ms <= utterance.ended_at_ms + 200


@pytest.mark.audio
@pytest.mark.parametrize("word", ["Yes.", "No.", "Two."])
def test_short_answers_survive(say: Say, word: str) -> None:
    speech = say(word)
    signal = phone_line(np.concatenate([silence(1000), speech, silence(1000)]))
    sound_start, sound_end = sound_extent_ms(speech)
    events = push_all(Endpointer(), signal)
    utterances = ended(events)
    assert not [e for _, e in events if isinstance(e, UtteranceDiscarded)]
    assert len(utterances) == 1
    utterance = utterances[0]
    assert utterance.reason == "silence"
    assert utterance.speech_ms >= 120
    # The utterance audio contains the whole word.
    audio_start_ms = utterance.started_at_ms - 300
    assert audio_start_ms <= 1000 + sound_start
    assert audio_start_ms + len(utterance.audio) // 8 >= 1000 + sound_end


@pytest.mark.audio
def test_max_length_cuts_a_long_monologue(say: Say) -> None:
    sentence = say("I have had this pain in my lower back for about three weeks now.")
    speech = np.concatenate([sentence, sentence, sentence])  # no gap reaches end-of-turn
    config = EndpointerConfig(max_utterance_ms=3000)
    endpointer = Endpointer(config)
    events = push_all(endpointer, phone_line(np.concatenate([silence(500), speech, silence(1000)])))
    utterances = ended(events)
    assert utterances[0].reason == "max_length"
    assert utterances[0].ended_at_ms - utterances[0].started_at_ms == 3000
    assert len(utterances[0].audio) == 8 * (300 + 3000)
    # Speech that goes on after the cut opens a new utterance, which ends normally.
    assert utterances[-1].reason == "silence"
    assert utterances[-1].started_at_ms >= utterances[0].ended_at_ms


@pytest.mark.audio
def test_end_of_turn_can_be_changed_per_turn(say: Say) -> None:
    # Two phrases with an 800 ms pause, as when someone reads out digits in groups.
    first, second = say("My member ID is W one two three."), say("Four five six.")
    signal = phone_line(np.concatenate([silence(500), first, silence(800), second, silence(1500)]))

    quick = push_all(Endpointer(), signal)
    assert len(ended(quick)) == 2

    patient = Endpointer()
    patient.set_end_of_turn_ms(1200)
    assert patient.end_of_turn_ms == 1200
    together = ended(push_all(patient, signal))
    assert len(together) == 1
    assert together[0].ended_at_ms - together[0].started_at_ms > 2000


@pytest.mark.audio
def test_voiced_ms_grows_during_speech_and_reset_drops_the_utterance(say: Say) -> None:
    endpointer = Endpointer()
    push_all(endpointer, phone_line(np.concatenate([silence(500), say("I'd like to book")])))
    assert endpointer.in_speech
    assert endpointer.voiced_ms >= 400
    now = endpointer.now_ms
    endpointer.reset()
    assert not endpointer.in_speech and endpointer.voiced_ms == 0
    assert endpointer.now_ms == now  # the call's audio clock keeps running
    assert push_all(endpointer, silence(1000)) == []  # nothing left to end
