"""Entropy coding of centroid indices with ``constriction``'s range coder.

The model is the empirical categorical distribution of the indices being coded:
its exact symbol counts travel in the payload, so the decoder rebuilds the same
model. Layout::

    counts of symbols 0..K-2   (K-1) * ceil(log2(N+1)) bits, packed (codec.bitpack)
                               (the count of symbol K-1 is N minus their sum)
    stream length L            varint, bytes
    range-coder stream         L bytes: constriction's uint32 words, little endian,
                               with up to 3 trailing zero bytes dropped

``constriction`` is imported lazily, only when indices are entropy coded.
"""

from __future__ import annotations

import numpy as np

from codec.bitpack import bits_for, pack_uint, packed_nbytes, unpack_uint
from codec.errors import PayloadError
from codec.reader import ByteReader, write_varint

__all__ = ["entropy_lower_bound_nbytes", "encode_categorical", "decode_categorical"]


def _model(counts: np.ndarray):
    import constriction

    return constriction.stream.model.Categorical(counts.astype(np.float64), perfect=False)


def entropy_lower_bound_nbytes(counts: np.ndarray) -> float:
    """A lower bound on :func:`encode_categorical`'s size from the symbol counts [K]."""
    n = int(counts.sum())
    p = counts[counts > 0] / max(n, 1)
    info_bits = float(-(counts[counts > 0] * np.log2(p)).sum())
    return packed_nbytes(len(counts) - 1, bits_for(n + 1)) + 1 + info_bits / 8


def encode_categorical(symbols: np.ndarray, k: int) -> bytes:
    """Range-code ``symbols`` [N] (ints in ``[0, k)``, ``N >= 1``, ``k >= 2``)."""
    import constriction

    symbols = np.asarray(symbols, dtype=np.int64)
    n = symbols.size
    counts = np.bincount(symbols, minlength=k)
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(symbols.astype(np.int32), _model(counts))
    stream = encoder.get_compressed().astype("<u4").tobytes()
    trim = 0
    while trim < 3 and trim < len(stream) and stream[len(stream) - 1 - trim] == 0:
        trim += 1
    stream = stream[: len(stream) - trim]
    return pack_uint(counts[:-1], bits_for(n + 1)) + write_varint(len(stream)) + stream


def decode_categorical(r: ByteReader, n: int, k: int) -> np.ndarray:
    """Read what :func:`encode_categorical` wrote for ``n`` symbols of alphabet ``k``.

    :output: [n] int64 in ``[0, k)``
    :raises PayloadError: inconsistent counts, truncated stream, undecodable data
    """
    import constriction

    if n < 1 or k < 2:
        raise PayloadError(f"{r.what}: entropy coding needs N >= 1 and K >= 2")
    cb = bits_for(n + 1)
    head = unpack_uint(r.take(packed_nbytes(k - 1, cb), "symbol counts"), k - 1, cb)
    rest = n - int(head.sum())
    if rest < 0 or head.max(initial=0) > n:
        raise PayloadError(f"{r.what}: symbol counts sum to more than N={n}")
    counts = np.append(head, rest)
    length = r.varint("entropy stream length")
    stream = bytes(r.take(length, "entropy stream"))
    stream += b"\0" * (-len(stream) % 4)
    words = np.frombuffer(stream, dtype="<u4").astype(np.uint32)
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
        symbols = np.asarray(decoder.decode(_model(counts), n), dtype=np.int64)
    except (AssertionError, ValueError, RuntimeError, OverflowError) as exc:
        raise PayloadError(f"{r.what}: undecodable entropy-coded indices ({exc})") from None
    if symbols.shape != (n,) or symbols.min() < 0 or symbols.max() >= k:
        raise PayloadError(f"{r.what}: entropy-coded indices out of range [0, {k})")
    if not np.array_equal(np.bincount(symbols, minlength=k), counts):
        raise PayloadError(f"{r.what}: entropy-coded indices do not match their counts")
    return symbols
