"""Bit packing of unsigned integers and bitmaps (LSB-first, no Python loops).

Values are packed little-endian bit by bit: value ``i`` occupies bits
``[i*bits, (i+1)*bits)`` of the stream, bit ``j`` of byte ``b`` being stream bit
``8*b + j``. The stream is padded with zero bits to a whole byte; decoders reject
non-zero padding.

>>> import numpy as np
>>> pack_uint(np.array([1, 2, 3]), 2).hex()
'39'
>>> unpack_uint(bytes.fromhex("39"), 3, 2).tolist()
[1, 2, 3]
"""

from __future__ import annotations

import numpy as np

from codec.errors import PayloadError

__all__ = [
    "bits_for",
    "packed_nbytes",
    "pack_uint",
    "unpack_uint",
    "pack_bitmap",
    "unpack_bitmap",
]


def bits_for(k: int) -> int:
    """Bits needed for a value in ``[0, k)``: ``ceil(log2 k)``; 0 for ``k <= 1``."""
    return max(0, int(k) - 1).bit_length()


def packed_nbytes(n: int, bits: int) -> int:
    """Bytes taken by ``n`` values of ``bits`` bits each."""
    return (int(n) * int(bits) + 7) // 8


def _word_dtype(bits: int) -> str:
    return "u1" if bits <= 8 else "<u2" if bits <= 16 else "<u4"


def pack_uint(values: np.ndarray, bits: int) -> bytes:
    """Pack non-negative integers ``values`` [n] (each ``< 2**bits``) at ``bits`` bits each.

    :param values: [n], integer array
    :param bits: 0 to 32
    :output: ``packed_nbytes(n, bits)`` bytes
    """
    values = np.asarray(values)
    if bits == 0 or values.size == 0:
        return b""
    words = values.astype(_word_dtype(bits))
    if bits in (8, 16, 32):
        return words.tobytes()
    shifts = np.arange(bits, dtype=words.dtype)
    bit_matrix = ((words[:, None] >> shifts) & 1).astype(np.uint8)
    return np.packbits(bit_matrix.ravel(), bitorder="little").tobytes()


def unpack_uint(buf: bytes, n: int, bits: int, *, what: str = "indices") -> np.ndarray:
    """Inverse of :func:`pack_uint`: ``n`` values [n] int64 from ``buf``.

    ``buf`` must be exactly ``packed_nbytes(n, bits)`` long with zero padding bits;
    otherwise :class:`PayloadError` is raised.
    """
    if len(buf) != packed_nbytes(n, bits):
        raise PayloadError(f"{what}: expected {packed_nbytes(n, bits)} bytes, got {len(buf)}")
    if bits == 0 or n == 0:
        return np.zeros(n, dtype=np.int64)
    dtype = _word_dtype(bits)
    if bits in (8, 16, 32):
        return np.frombuffer(buf, dtype=dtype).astype(np.int64)
    stream = np.unpackbits(np.frombuffer(buf, dtype=np.uint8), bitorder="little")
    if stream[n * bits :].any():
        raise PayloadError(f"{what}: non-zero padding bits")
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    return stream[: n * bits].reshape(n, bits).astype(np.int64) @ weights


def pack_bitmap(positions: np.ndarray, n: int) -> bytes:
    """A bitmap of ``n`` bits with bit ``p`` set for every ``p`` in ``positions``."""
    bitmap = np.zeros(n, dtype=np.uint8)
    bitmap[np.asarray(positions, dtype=np.int64)] = 1
    return np.packbits(bitmap, bitorder="little").tobytes()


def unpack_bitmap(buf: bytes, n: int, count: int, *, what: str = "positions") -> np.ndarray:
    """Set bit positions [count] int64 (increasing) of an ``n``-bit bitmap.

    Raises :class:`PayloadError` unless exactly ``count`` bits are set, the length is
    ``ceil(n / 8)`` and the padding bits are zero.
    """
    if len(buf) != packed_nbytes(n, 1):
        raise PayloadError(f"{what}: expected {packed_nbytes(n, 1)} bitmap bytes, got {len(buf)}")
    bits = np.unpackbits(np.frombuffer(buf, dtype=np.uint8), bitorder="little")
    if bits[n:].any():
        raise PayloadError(f"{what}: non-zero padding bits in bitmap")
    positions = np.flatnonzero(bits[:n]).astype(np.int64)
    if positions.size != count:
        raise PayloadError(f"{what}: bitmap has {positions.size} bits set, header says {count}")
    return positions
