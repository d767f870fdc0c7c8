"""Gray-labelled square QAM (BPSK .. 256-QAM): mapping and hard-decision slicing.

Vectorised numpy on whole byte streams, no Python loop over symbols; used by
:class:`channel.Uncoded` (hard decisions need no LLR demapper, so this is far faster
than Sionna's APP demapper).

Labelling: a symbol carries ``m`` bits, read MSB first from the byte stream. BPSK maps
bit ``b`` to ``2b - 1``. For ``m >= 2`` the first ``m/2`` bits of a label pick the
in-phase and the last ``m/2`` the quadrature level of a Gray-labelled
``L = 2**(m/2)``-PAM with amplitudes ``2l - (L - 1)`` (level ``l`` has Gray label
``l ^ (l >> 1)``), so neighbouring points differ in exactly one bit. Constellations are
scaled to unit average energy (``E|x|^2 = 1``).

>>> import numpy as np
>>> bits = np.array([0, 1, 1, 0, 1, 1, 0, 0], dtype=np.uint8)
>>> x = map_bits(bits, "16qam")
>>> x.shape
(2,)
>>> np.array_equal(slice_symbols(x, "16qam"), bits)
True
"""

from __future__ import annotations

import math

import numpy as np

from channel.validate import check_one_of

__all__ = [
    "MODULATIONS",
    "bits_per_symbol",
    "constellation",
    "bytes_to_labels",
    "labels_to_bytes",
    "labels_to_iq",
    "slice_iq",
    "map_bits",
    "slice_symbols",
]

#: modulation name -> bits per symbol
MODULATIONS: dict[str, int] = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}


def bits_per_symbol(modulation: str) -> int:
    """Bits per symbol of ``modulation`` (ValueError listing the valid names)."""
    check_one_of("modulation", modulation, tuple(MODULATIONS))
    return MODULATIONS[modulation]


def _norm(m: int) -> float:
    """Amplitude divisor giving unit average symbol energy."""
    return 1.0 if m == 1 else math.sqrt(2.0 * ((1 << m) - 1) / 3.0)


def _group(m: int) -> tuple[int, int]:
    """(bytes, symbols) per group: the smallest whole number of both."""
    n_bits = math.lcm(m, 8)
    return n_bits // 8, n_bits // m


def bytes_to_labels(data: np.ndarray, m: int) -> np.ndarray:
    """Byte stream -> symbol labels, MSB first; zero bits pad the last group.

    :input data: [n_bytes] uint8.
    :output labels: [ceil(n_bytes / g) * s] uint32 (``g`` bytes carry ``s`` symbols).
    """
    g, s = _group(m)
    data = np.asarray(data, dtype=np.uint8).reshape(-1)
    pad = -data.size % g
    if pad:
        data = np.concatenate([data, np.zeros(pad, dtype=np.uint8)])
    words = data.reshape(-1, g).astype(np.uint32)
    word = words[:, 0]
    for j in range(1, g):
        word = (word << 8) | words[:, j]
    shifts = (m * np.arange(s - 1, -1, -1)).astype(np.uint32)
    return ((word[:, None] >> shifts) & np.uint32((1 << m) - 1)).reshape(-1)


def labels_to_bytes(labels: np.ndarray, m: int, n_bytes: int) -> np.ndarray:
    """Inverse of :func:`bytes_to_labels`: [>= n_bytes * 8 / m] labels -> [n_bytes] uint8."""
    g, s = _group(m)
    n_groups = -(-n_bytes // g)
    rows = np.asarray(labels, dtype=np.uint32)[: n_groups * s].reshape(n_groups, s)
    word = rows[:, 0].copy()
    for j in range(1, s):
        word = (word << np.uint32(m)) | rows[:, j]
    shifts = (8 * np.arange(g - 1, -1, -1)).astype(np.uint32)
    out = ((word[:, None] >> shifts) & np.uint32(0xFF)).astype(np.uint8)
    return out.reshape(-1)[:n_bytes]


def _gray_to_level(g: np.ndarray, bits: int) -> np.ndarray:
    level = g.copy()
    shift = 1
    while shift < bits:
        level ^= level >> np.uint32(shift)
        shift <<= 1
    return level


def labels_to_iq(labels: np.ndarray, modulation: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels -> unit-energy symbols as (in-phase, quadrature) float32 arrays
    (quadrature ``None`` for BPSK)."""
    m = bits_per_symbol(modulation)
    labels = np.asarray(labels, dtype=np.uint32)
    if m == 1:
        return labels.astype(np.float32) * np.float32(2.0) - np.float32(1.0), None
    h = m // 2
    top = np.float32((1 << h) - 1)
    a = np.float32(2.0 / _norm(m))
    b = np.float32(top / _norm(m))
    i_level = _gray_to_level(labels >> np.uint32(h), h)
    q_level = _gray_to_level(labels & np.uint32((1 << h) - 1), h)
    return i_level.astype(np.float32) * a - b, q_level.astype(np.float32) * a - b


def slice_iq(y_re: np.ndarray, y_im: np.ndarray | None, modulation: str) -> np.ndarray:
    """Hard decision to the nearest point (equalised received values) -> uint32 labels."""
    m = bits_per_symbol(modulation)
    if m == 1:
        return (np.asarray(y_re) > 0).astype(np.uint32)
    h = m // 2
    top = float((1 << h) - 1)
    a = np.float32(_norm(m) * 0.5)
    b = np.float32(top * 0.5)

    def gray(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32) * a + b
        np.rint(v, out=v)
        np.clip(v, 0.0, top, out=v)
        level = v.astype(np.uint32)
        return level ^ (level >> np.uint32(1))

    return (gray(y_re) << np.uint32(h)) | gray(y_im)


def _bits_to_labels(bits: np.ndarray, m: int) -> np.ndarray:
    rows = np.asarray(bits, dtype=np.uint8).reshape(-1, m).astype(np.uint32)
    labels = rows[:, 0].copy()
    for j in range(1, m):
        labels = (labels << np.uint32(1)) | rows[:, j]
    return labels


def map_bits(bits: np.ndarray, modulation: str) -> np.ndarray:
    """Gray-map bits onto unit-energy symbols.

    :input bits: [n * m] uint8 (0/1); ``m = bits_per_symbol(modulation)``.
    :output symbols: [n] complex64.
    """
    m = bits_per_symbol(modulation)
    bits = np.asarray(bits, dtype=np.uint8).reshape(-1)
    if bits.size % m:
        raise ValueError(f"bits length {bits.size} is not a multiple of {m} ({modulation})")
    re, im = labels_to_iq(_bits_to_labels(bits, m), modulation)
    out = np.zeros(re.shape, dtype=np.complex64)
    out.real = re
    if im is not None:
        out.imag = im
    return out


def slice_symbols(y: np.ndarray, modulation: str) -> np.ndarray:
    """Hard decision to the nearest constellation point, back to bits.

    :input y: [n] complex (equalised: the transmitted point plus noise).
    :output bits: [n * m] uint8.
    """
    m = bits_per_symbol(modulation)
    y = np.asarray(y).reshape(-1)
    labels = slice_iq(y.real, y.imag, modulation)
    shifts = np.arange(m - 1, -1, -1, dtype=np.uint32)
    return ((labels[:, None] >> shifts) & np.uint32(1)).astype(np.uint8).reshape(-1)


def constellation(modulation: str) -> np.ndarray:
    """All ``2**m`` points, index = bit label. :output: [2**m] complex128."""
    m = bits_per_symbol(modulation)
    re, im = labels_to_iq(np.arange(1 << m, dtype=np.uint32), modulation)
    return re.astype(np.complex128) + (0 if im is None else 1j * im.astype(np.complex128))
