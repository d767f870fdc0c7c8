"""Number formats for vector values: how one row ``[D]`` becomes bytes and back.

=========  =====  ==============================================================
name       code   row layout (``D`` values)
=========  =====  ==============================================================
``fp32``   0      ``D`` IEEE float32, little endian (exact)
``fp16``   1      ``D`` IEEE float16 (round to nearest; beyond 65504 -> inf)
``bf16``   2      ``D`` bfloat16 (round to nearest)
``int8``   3      bf16 scale ``s`` + ``D`` int8 ``q`` in [-127, 127]; ``x ~ q * s``
``int4``   4      bf16 scale ``s`` + ``ceil(D/2)`` bytes, two 4-bit ``q`` in [-7, 7]
                  per byte (low nibble first, zero pad nibble when D is odd)
``fp8``    5      bf16 scale ``s`` + ``D`` float8 e4m3 (``torch.float8_e4m3fn``)
                  values of ``x / s``, ``s = max|x| / 448``; only if torch has it
=========  =====  ==============================================================

Scaled formats are symmetric per vector (per row): ``s = max|x| / qmax`` is rounded
*up* to bfloat16 (2 bytes, fp32 range, so no overflow or underflow to zero for any
finite input) and values are quantised with the stored scale, so the error per value
is at most ``s / 2`` for the integer formats. An all-zero row has ``s = 0``. Scaled
formats reject non-finite inputs (``ValueError``). Decoders return float32.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from codec.errors import PayloadError

__all__ = [
    "NUMBER_FORMATS",
    "NumberFormat",
    "get_format",
    "format_by_code",
    "row_nbytes",
    "encode_rows",
    "decode_rows",
    "bad_scale_rows",
]

_HAS_FP8 = hasattr(torch, "float8_e4m3fn")
if sys.byteorder != "little":  # the wire format is little endian; numpy views assume it
    raise ImportError("codec supports little-endian hosts only")


@dataclass(frozen=True)
class NumberFormat:
    """One number format.

    :param name: public name (``"fp16"``)
    :param code: the byte stored in headers
    :param bits_per_value: bits of one value, scale excluded
    :param qmax: for scaled formats the largest quantised magnitude, else 0
    """

    name: str
    code: int
    bits_per_value: int
    qmax: float = 0.0

    @property
    def scaled(self) -> bool:
        return self.qmax > 0


_FORMATS = [
    NumberFormat("fp32", 0, 32),
    NumberFormat("fp16", 1, 16),
    NumberFormat("bf16", 2, 16),
    NumberFormat("int8", 3, 8, 127.0),
    NumberFormat("int4", 4, 4, 7.0),
]
if _HAS_FP8:
    _FORMATS.append(NumberFormat("fp8", 5, 8, 448.0))

_BY_NAME = {f.name: f for f in _FORMATS}

# Decoding table: byte -> float e4m3 value (a gather is faster than torch's fp8 cast).
_FP8_LUT = (
    torch.arange(256, dtype=torch.uint8).view(torch.float8_e4m3fn).float().numpy()
    if _HAS_FP8
    else None
)
_BY_CODE = {f.code: f for f in _FORMATS}

#: Names of the number formats this installation supports.
NUMBER_FORMATS: tuple[str, ...] = tuple(_BY_NAME)

_SCALE_BYTES = 2


def get_format(name: str) -> NumberFormat:
    """The :class:`NumberFormat` called ``name``; ``ValueError`` listing valid names."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"number_format must be one of {', '.join(NUMBER_FORMATS)}; got {name!r}"
        ) from None


def format_by_code(code: int) -> NumberFormat:
    """The format stored as ``code`` in a header; :class:`PayloadError` if unknown."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise PayloadError(f"unknown number format code {code}") from None


def row_nbytes(dim: int, fmt: NumberFormat) -> int:
    """Bytes of one encoded row of ``dim`` values."""
    if fmt.name == "int4":
        return _SCALE_BYTES + (dim + 1) // 2
    return (_SCALE_BYTES if fmt.scaled else 0) + dim * fmt.bits_per_value // 8


def _bf16_scale_up(x: np.ndarray, qmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row scale ``max|x| / qmax`` rounded up to bfloat16.

    :input x: [R, D] float32
    :output: ``(bits [R] uint16, scale [R] float32)``, the bf16 bit patterns and values
    """
    amax = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(x.shape[0], np.float32)
    if not np.isfinite(amax).all():  # max propagates NaN, so checking [R] is enough
        raise ValueError(
            "vectors contain non-finite values; scaled number formats need finite input"
        )
    bits = (amax / np.float32(qmax)).astype(np.float32).view(np.uint32)
    bf16 = ((bits >> 16) + ((bits & 0xFFFF) != 0)).astype(np.uint16)  # ceiling
    return bf16, (bf16.astype(np.uint32) << 16).view(np.float32)


def encode_rows(x: torch.Tensor, fmt: NumberFormat) -> np.ndarray:
    """Encode rows.

    :input x: [R, D] floating point
    :output: [R, row_nbytes(D, fmt)] uint8
    """
    x = x.detach().to("cpu", torch.float32).contiguous()
    rows, dim = x.shape
    nb = row_nbytes(dim, fmt)
    if fmt.name == "fp32":
        return x.numpy().view(np.uint8).reshape(rows, nb)
    if fmt.name == "fp16":
        return x.to(torch.float16).numpy().view(np.uint8).reshape(rows, nb)
    if fmt.name == "bf16":
        return x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint8).reshape(rows, nb)
    bf16, scale = _bf16_scale_up(x.numpy(), fmt.qmax)
    y = x.numpy() / np.where(scale > 0, scale, np.float32(1))[:, None]  # [R, D] in scale units
    np.clip(y, -fmt.qmax, fmt.qmax, out=y)
    out = np.empty((rows, nb), dtype=np.uint8)
    out[:, :_SCALE_BYTES] = bf16.astype("<u2").view(np.uint8).reshape(rows, 2)
    if fmt.name == "fp8":
        fp8 = torch.from_numpy(y).to(torch.float8_e4m3fn)
        out[:, _SCALE_BYTES:] = fp8.view(torch.uint8).numpy()
        return out
    q = np.rint(y, out=y).astype(np.int8)
    if fmt.name == "int8":
        out[:, _SCALE_BYTES:] = q.view(np.uint8)
        return out
    nibbles = q.view(np.uint8) & 0x0F
    if dim % 2:
        nibbles = np.concatenate([nibbles, np.zeros((rows, 1), dtype=np.uint8)], axis=1)
    out[:, _SCALE_BYTES:] = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)
    return out


def _scales(table: np.ndarray) -> np.ndarray:
    """Per-row bf16 scales of a scaled-format table [R, nb] as float32 [R, 1]."""
    bits = np.ascontiguousarray(table[:, :_SCALE_BYTES]).view("<u2").astype(np.uint32) << 16
    return bits.view(np.float32).reshape(-1, 1)


def bad_scale_rows(table: np.ndarray, fmt: NumberFormat) -> np.ndarray:
    """Rows [R] bool of an encoded table [R, row_nbytes] whose scale is negative
    (sign bit set) or not finite; all False for unscaled formats."""
    if not fmt.scaled:
        return np.zeros(table.shape[0], dtype=bool)
    scale = _scales(table)[:, 0]
    return ~np.isfinite(scale) | np.signbit(scale)


def decode_rows(buf: bytes | np.ndarray, rows: int, dim: int, fmt: NumberFormat) -> torch.Tensor:
    """Decode ``rows`` rows of ``dim`` values.

    :input buf: exactly ``rows * row_nbytes(dim, fmt)`` bytes (or a uint8 array)
    :output: [rows, dim] float32
    :raises PayloadError: wrong length, or a scale that is negative or not finite
    """
    nb = row_nbytes(dim, fmt)
    raw = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    if not raw.flags.writeable:  # torch needs writable memory: copy once
        raw = raw.copy()
    if raw.size != rows * nb:
        raise PayloadError(f"vector values: expected {rows * nb} bytes, got {raw.size}")
    if rows == 0 or dim == 0:
        return torch.zeros(rows, dim)
    if fmt.name == "fp32":
        return torch.from_numpy(raw).view(torch.float32).reshape(rows, dim)
    if fmt.name == "fp16":
        return torch.from_numpy(raw).view(torch.float16).reshape(rows, dim).float()
    if fmt.name == "bf16":
        return torch.from_numpy(raw).view(torch.bfloat16).reshape(rows, dim).float()
    table = raw.reshape(rows, nb)
    if bad_scale_rows(table, fmt).any():
        raise PayloadError("vector values: a per-vector scale is negative or not finite")
    scale = _scales(table)
    body = table[:, _SCALE_BYTES:]
    if fmt.name == "int8":
        values = body.view(np.int8).astype(np.float32)
    elif fmt.name == "int4":  # arithmetic shifts of int8 sign-extend each nibble
        signed = body.view(np.int8)
        values = np.empty((rows, 2 * body.shape[1]), dtype=np.float32)
        values[:, 0::2] = (signed << 4) >> 4
        values[:, 1::2] = signed >> 4
        values = values[:, :dim]
    else:  # fp8
        values = np.take(_FP8_LUT, body)
    with np.errstate(over="ignore"):  # q * s may exceed float32 only for max|x| near 3.4e38
        return torch.from_numpy(values * scale)
