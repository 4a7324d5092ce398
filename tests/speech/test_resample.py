"""soxr resampling: frequency and length preserved, streaming equals one-shot."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voiceagent.speech.resample import (
    StreamResampler,
    float32_to_pcm16,
    pcm16_to_float32,
    resample,
)


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> npt.NDArray[np.int16]:
    t = np.arange(int(rate * seconds)) / rate
    return float32_to_pcm16((amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32))


def peak_hz(signal: npt.NDArray[np.generic], rate: int) -> float:
    x = signal.astype(np.float64) * np.hanning(len(signal))
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    ("src", "dst", "freq"), [(22050, 8000, 1000.0), (8000, 16000, 440.0), (16000, 8000, 3000.0)]
)
def test_sine_keeps_its_frequency_and_length_ratio(src: int, dst: int, freq: float) -> None:
    tone = sine(freq, src, 1.0)
    out = resample(tone, src, dst)
    assert out.dtype == np.int16
    assert abs(len(out) - len(tone) * dst / src) <= 1
    assert abs(peak_hz(out, dst) - freq) <= 2.0  # FFT bins are 1 Hz wide for 1 s
    # Amplitude is kept (0.5 of full scale, away from the edges where the filter settles).
    middle = out[len(out) // 4 : -len(out) // 4].astype(np.float64)
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 * 32768 / np.sqrt(2), rel=0.02)


def test_energy_above_the_new_nyquist_is_removed() -> None:
    # A 5 kHz tone cannot exist at 8 kHz; it must be filtered, not aliased to 3 kHz.
    out = resample(sine(5000, 22050, 1.0), 22050, 8000).astype(np.float64)
    assert np.sqrt(np.mean(out**2)) < 0.01 * 32768


def test_float32_in_float32_out() -> None:
    tone = pcm16_to_float32(sine(440, 8000, 0.5))
    out = resample(tone, 8000, 16000)
    assert out.dtype == np.float32
    assert len(out) == 8000


def test_int16_output_saturates_instead_of_wrapping() -> None:
    # A full-scale square wave overshoots (Gibbs) when band-limited.
    square = np.tile(np.r_[np.full(40, 32767), np.full(40, -32768)], 100).astype(np.int16)
    out = resample(square, 8000, 16000)
    as_float = resample(pcm16_to_float32(square), 8000, 16000)
    assert np.max(np.abs(as_float)) > 1.0  # there is overshoot to handle
    # Wrapping would flip the sign of overshooting samples; saturation keeps it.
    loud = np.abs(as_float) > 0.9
    assert np.all(np.sign(out[loud]) == np.sign(as_float[loud]))
    assert out.max() == 32767 and out.min() == -32768


def test_pcm16_float32_round_trip_is_exact() -> None:
    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    assert np.array_equal(float32_to_pcm16(pcm16_to_float32(every)), every)
    assert float32_to_pcm16(np.array([1.5, -1.5], dtype=np.float32)).tolist() == [32767, -32768]


def test_same_rate_is_a_copy() -> None:
    tone = sine(440, 8000, 0.1)
    out = resample(tone, 8000, 8000)
    assert np.array_equal(out, tone) and out is not tone


def test_rejects_other_dtypes_and_shapes() -> None:
    with pytest.raises(TypeError):
        resample(np.zeros(10, dtype=np.int32), 8000, 16000)
    with pytest.raises(ValueError):
        resample(np.zeros((10, 2), dtype=np.int16), 8000, 16000)


@pytest.mark.parametrize(("src", "dst", "chunk"), [(8000, 16000, 160), (22050, 8000, 441)])
def test_streaming_in_chunks_matches_one_shot(src: int, dst: int, chunk: int) -> None:
    tone = sine(300, src, 1.0) // 2 + sine(1234, src, 1.0) // 2
    one_shot = resample(tone, src, dst).astype(np.int32)
    stream = StreamResampler(src, dst)
    pieces = [stream.process(tone[i : i + chunk]) for i in range(0, len(tone), chunk)]
    pieces.append(stream.flush())
    streamed = np.concatenate(pieces)
    assert streamed.dtype == np.int16
    assert abs(len(streamed) - len(one_shot)) <= 1
    n = min(len(streamed), len(one_shot))
    # Identical filter, so differences are rounding only: no clicks at chunk boundaries.
    assert np.max(np.abs(streamed[:n].astype(np.int32) - one_shot[:n])) <= 2


def test_stream_restarts_after_flush_and_follows_input_dtype() -> None:
    stream = StreamResampler(8000, 16000)
    first = np.concatenate([stream.process(pcm16_to_float32(sine(440, 8000, 0.2))), stream.flush()])
    second = np.concatenate(
        [stream.process(pcm16_to_float32(sine(440, 8000, 0.2))), stream.flush()]
    )
    assert first.dtype == np.float32
    assert np.allclose(first, second, atol=1e-6)  # no state leaks from the first stream
