"""G.711 mu-law against a slow, scalar transcription of the reference ``g711.c``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import voiceagent.speech
from voiceagent.speech.codec import ulaw_decode, ulaw_encode

# --- the reference, one sample at a time, as in the classic Sun/CCITT g711.c -------------

BIAS = 0x84
CLIP = 32635
EXP_LUT = [0, 0, 1, 1] + [2] * 4 + [3] * 8 + [4] * 16 + [5] * 32 + [6] * 64 + [7] * 128


def ref_linear2ulaw(sample: int) -> int:
    sign = (sample >> 8) & 0x80
    if sign:
        sample = -sample
    sample = min(sample, CLIP)
    sample += BIAS
    exponent = EXP_LUT[(sample >> 7) & 0xFF]
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ref_ulaw2linear(code: int) -> int:
    code = ~code & 0xFF
    t = ((code & 0x0F) << 3) + BIAS
    t <<= (code & 0x70) >> 4
    return BIAS - t if code & 0x80 else t - BIAS


# --- known values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0xFF, 0),
        (0x7F, 0),
        (0x00, -32124),
        (0x80, 32124),
        # Worked by hand: ~0xCD = 0x32 -> segment 3, mantissa 2 -> (2*8+132) << 3 - 132.
        (0xCD, 1052),
        (0x4D, -1052),
        # Segment 0, mantissa 15: (15*8+132) - 132.
        (0xF0, 120),
        (0x70, -120),
    ],
)
def test_decode_known_codes(code: int, value: int) -> None:
    assert ref_ulaw2linear(code) == value  # the scalar reference agrees with the hand values
    assert ulaw_decode(bytes([code]))[0] == value


@pytest.mark.parametrize(
    ("value", "code"),
    [(0, 0xFF), (-1, 0x7F), (32767, 0x80), (-32768, 0x00), (1052, 0xCD), (-1052, 0x4D)],
)
def test_encode_known_values(value: int, code: int) -> None:
    assert ref_linear2ulaw(value) == code
    assert ulaw_encode(np.array([value], dtype=np.int16)) == bytes([code])


@pytest.mark.parametrize("value", [1, 31, 100, 255, 1000, 4095, 8191, 12345, 30000, -7, -500])
def test_encode_mid_values_match_reference(value: int) -> None:
    assert ulaw_encode(np.array([value], dtype=np.int16))[0] == ref_linear2ulaw(value)


def test_decode_table_matches_reference_for_all_codes() -> None:
    decoded = ulaw_decode(bytes(range(256)))
    assert decoded.dtype == np.int16
    assert decoded.tolist() == [ref_ulaw2linear(code) for code in range(256)]


def test_encode_matches_reference_for_every_int16_value() -> None:
    every = np.arange(-32768, 32768, dtype=np.int32)
    expected = bytes(ref_linear2ulaw(int(v)) for v in every)
    assert ulaw_encode(every.astype(np.int16)) == expected


# --- round trips ---------------------------------------------------------------------


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    again = ulaw_encode(ulaw_decode(codes))
    for code in range(256):
        # 0x7F is "negative zero": it decodes to 0, and 0 encodes as 0xFF.
        expected = 0xFF if code == 0x7F else code
        assert again[code] == expected, hex(code)


def test_encode_decode_error_is_within_half_a_quantisation_step() -> None:
    ramp = np.arange(-32768, 32768, dtype=np.int32)
    codes = np.frombuffer(ulaw_encode(ramp.astype(np.int16)), dtype=np.uint8)
    back = ulaw_decode(codes.tobytes()).astype(np.int32)
    segment = ((~codes.astype(np.int32)) & 0x70) >> 4
    half_step = 1 << (segment + 2)  # a segment's step is 2**(segment + 3)
    inside = np.abs(ramp) <= CLIP
    assert np.all(np.abs(back - ramp)[inside] <= half_step[inside])
    # Beyond the clip level everything lands on the largest code of its sign.
    assert np.all(back[ramp > CLIP] == 32124)
    assert np.all(back[ramp < -CLIP] == -32124)
    # Monotonic: a louder input never decodes quieter.
    assert np.all(np.diff(back) >= 0)


# --- API edges -----------------------------------------------------------------------


def test_empty_input() -> None:
    assert ulaw_decode(b"").shape == (0,)
    assert ulaw_encode(np.zeros(0, dtype=np.int16)) == b""


def test_one_twilio_frame_is_160_bytes_each_way() -> None:
    pcm = ulaw_decode(bytes(range(96, 256)))
    assert pcm.shape == (160,)
    assert len(ulaw_encode(pcm)) == 160


def test_encode_rejects_non_int16() -> None:
    with pytest.raises(TypeError):
        ulaw_encode(np.zeros(160, dtype=np.float32))


def test_no_audioop_in_the_speech_package() -> None:
    # audioop is deprecated and gone in Python 3.13; mentioning it in a docstring is fine.
    uses = re.compile(r"^\s*(import|from)\s+audioop\b|import_module\(.audioop", re.MULTILINE)
    package_dir = Path(voiceagent.speech.__file__).parent
    offenders = [p.name for p in package_dir.glob("*.py") if uses.search(p.read_text())]
    assert offenders == []
    assert uses.search("import numpy\nimport audioop\n")  # the check itself can fail
