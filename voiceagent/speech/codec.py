"""G.711 mu-law, vectorised with numpy.

Twilio Media Streams carry 8 kHz mono mu-law; everything inside the product is 16-bit PCM.
The conversion must match the ITU-T G.711 reference bit for bit (the classic Sun/CCITT
``g711.c``: bias 0x84, clip at 32635, output bits inverted), because the far end decodes our
bytes with exactly that table. ``audioop`` did this before Python 3.13 removed it; here it is
two lookup tables:

* decoding is a 256-entry table indexed by the byte;
* encoding is a 65536-entry table indexed by the sample's 16-bit pattern, built once at import
  by a vectorised version of ``linear2ulaw`` (128 KiB, a few milliseconds), so each call is a
  single ``numpy.take``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ULAW_BIAS", "ULAW_CLIP", "ulaw_decode", "ulaw_encode"]

ULAW_BIAS = 0x84
ULAW_CLIP = 32635


def _build_decode_table() -> npt.NDArray[np.int16]:
    """``ulaw2linear`` for all 256 codes (reference algorithm, vectorised)."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, ULAW_BIAS - t, t - ULAW_BIAS).astype(np.int16)


def _linear2ulaw(pcm: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """Vectorised ``linear2ulaw``: sign, clip, bias, segment (exponent), 4-bit mantissa."""
    sign = np.where(pcm < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(pcm), ULAW_CLIP) + ULAW_BIAS  # 132 .. 32767
    # Segment = position of the highest set bit above bit 7; frexp gives bit_length exactly
    # for these small integers, which keeps this free of per-sample Python.
    exponent = np.frexp((magnitude >> 7).astype(np.float64))[1] - 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_DECODE = _build_decode_table()
_DECODE.setflags(write=False)
# Indexed by the int16 sample reinterpreted as uint16 (two's complement bit pattern).
_ENCODE = _linear2ulaw(np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32))
_ENCODE.setflags(write=False)


def ulaw_decode(data: bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    """Decode mu-law bytes to int16 PCM (one sample per byte)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    return _DECODE[codes]


def ulaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """Encode int16 PCM to mu-law bytes.

    Only int16 is accepted: silently rescaling floats or wider ints would hide a level bug
    somewhere upstream, and the wire format is defined for 16-bit linear input.
    """
    samples = np.asarray(pcm)
    if samples.dtype != np.int16:
        raise TypeError(f"ulaw_encode expects int16 PCM, got {samples.dtype}")
    return _ENCODE[samples.reshape(-1).view(np.uint16)].tobytes()
