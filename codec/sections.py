"""Index and position sections of a payload body (shared by payloads and packets).

- VQ indices: ``N`` values packed at ``ceil(log2 K)`` bits (``K = 1`` costs nothing),
  or entropy coded (:mod:`codec.entropy`) when that is smaller (``"auto"``) or asked
  for (``"entropy"``).
- Subset positions: a bitmap of ``N`` bits or ``k`` integers packed at
  ``ceil(log2 N)`` bits, whichever takes fewer bytes (ties go to the bitmap).
"""

from __future__ import annotations

import numpy as np

from codec.bitpack import (
    bits_for,
    pack_bitmap,
    pack_uint,
    packed_nbytes,
    unpack_bitmap,
    unpack_uint,
)
from codec.entropy import decode_categorical, encode_categorical, entropy_lower_bound_nbytes
from codec.errors import PayloadError
from codec.reader import ByteReader

__all__ = [
    "INDEX_CODINGS",
    "check_index_coding",
    "encode_indices",
    "read_indices",
    "encode_positions",
    "read_positions",
]

#: Index codings accepted by :func:`codec.encode`.
INDEX_CODINGS: tuple[str, ...] = ("auto", "packed", "entropy")


def check_index_coding(index_coding: str) -> None:
    """``ValueError`` listing valid names unless ``index_coding`` is one of them."""
    if index_coding not in INDEX_CODINGS:
        raise ValueError(
            f"index_coding must be one of {', '.join(INDEX_CODINGS)}; got {index_coding!r}"
        )


def encode_indices(indices: np.ndarray, k: int, index_coding: str) -> tuple[bool, bytes]:
    """Encode VQ indices [N] in ``[0, k)``.

    :output: ``(entropy_coded, section_bytes)``; entropy coding is used for
        ``"entropy"`` (when ``k >= 2`` and ``N >= 1``, else there is nothing to code)
        and for ``"auto"`` only when it is strictly smaller than packing.
    """
    packed = pack_uint(indices, bits_for(k))
    if index_coding == "packed" or k < 2 or indices.size == 0:
        return False, packed
    if index_coding == "auto":
        counts = np.bincount(indices, minlength=k)
        if entropy_lower_bound_nbytes(counts) >= len(packed):
            return False, packed
    coded = encode_categorical(indices, k)
    if index_coding == "entropy" or len(coded) < len(packed):
        return True, coded
    return False, packed


def read_indices(r: ByteReader, n: int, k: int, entropy: bool) -> np.ndarray:
    """Read ``n`` indices in ``[0, k)`` written by :func:`encode_indices`: [n] int64."""
    if entropy:
        return decode_categorical(r, n, k)
    bits = bits_for(k)
    values = unpack_uint(r.take(packed_nbytes(n, bits), "indices"), n, bits)
    if values.size and int(values.max()) >= k:
        raise PayloadError(f"{r.what}: index {int(values.max())} out of range [0, {k})")
    return values


def encode_positions(positions: np.ndarray, n: int) -> tuple[bool, bytes]:
    """Encode strictly increasing positions [k] in ``[0, n)``.

    :output: ``(as_bitmap, section_bytes)``, the smaller of the two layouts
    """
    bits = bits_for(n)
    if packed_nbytes(n, 1) <= packed_nbytes(positions.size, bits):
        return True, pack_bitmap(positions, n)
    return False, pack_uint(positions, bits)


def read_positions(r: ByteReader, n: int, count: int, bitmap: bool) -> np.ndarray:
    """Read ``count`` positions among ``n`` written by :func:`encode_positions`."""
    if bitmap:
        return unpack_bitmap(r.take(packed_nbytes(n, 1), "positions"), n, count)
    bits = bits_for(n)
    positions = unpack_uint(r.take(packed_nbytes(count, bits), "positions"), count, bits)
    check_positions(positions, n, r.what)
    return positions


def check_positions(positions: np.ndarray, n: int, what: str) -> None:
    """:class:`PayloadError` unless ``positions`` are strictly increasing in ``[0, n)``."""
    if positions.size and int(positions.max()) >= n:
        raise PayloadError(f"{what}: position {int(positions.max())} out of range [0, {n})")
    if positions.size > 1 and not bool((np.diff(positions) > 0).all()):
        raise PayloadError(f"{what}: positions are not strictly increasing")
