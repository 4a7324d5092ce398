"""20 ms framing."""

from __future__ import annotations

import numpy as np
import pytest

from voiceagent.speech.frames import Reframer, frame_samples, split_frames


def test_frame_sizes() -> None:
    assert frame_samples(8000) == 160
    assert frame_samples(16000) == 320
    assert frame_samples(22050) == 441
    with pytest.raises(ValueError):
        frame_samples(11025)  # 220.5 samples


def test_split_pads_the_last_frame_with_zeros() -> None:
    pcm = np.arange(1, 401, dtype=np.int16)
    frames = list(split_frames(pcm))
    assert [len(f) for f in frames] == [160, 160, 160]
    assert np.array_equal(np.concatenate(frames)[:400], pcm)
    assert not frames[-1][80:].any()


def test_split_exact_multiple_has_no_padding_frame() -> None:
    assert len(list(split_frames(np.zeros(320, dtype=np.int16)))) == 2
    assert list(split_frames(np.zeros(0, dtype=np.int16))) == []


def test_reframer_keeps_every_sample_across_odd_chunks() -> None:
    pcm = np.arange(1000, dtype=np.int16)
    reframer = Reframer(8000)
    frames: list[np.ndarray] = []
    for start in range(0, 1000, 77):
        frames += reframer.push(pcm[start : start + 77])
    assert all(len(f) == 160 for f in frames)
    assert len(frames) == 6  # 960 samples; 40 are waiting
    frames += reframer.flush()
    assert np.array_equal(np.concatenate(frames)[:1000], pcm)
    assert reframer.flush() == []


def test_reframer_rejects_non_int16() -> None:
    with pytest.raises(ValueError):
        Reframer().push(np.zeros(160, dtype=np.float32))
