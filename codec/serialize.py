"""Payload <-> bytes.

Body layout after the header fields (see :mod:`codec.header`), before the CRC:

- ``vq``:     K rows of values (:mod:`codec.formats`), then the index section
  (N indices packed at ``ceil(log2 K)`` bits, or entropy coded: :mod:`codec.entropy`)
- ``subset``: k rows of values, then the positions (bitmap or packed integers,
  whichever is smaller: :mod:`codec.sections`)
- ``full``:   N rows of values

Side info (:func:`encode_side_info`) is the same message with the side-info flag set
and no rows of values: what the digital side link of analog transmission carries.

The bit count of a payload is ``len(encode(payload)) * 8``; nothing else.

>>> import torch
>>> from codec import VQPayload, encode, decode
>>> p = VQPayload(torch.ones(2, 4), torch.tensor([0, 1, 1]))
>>> data = encode(p, number_format="fp16")
>>> len(data), decode(data).indices.tolist()
(29, [0, 1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from codec.errors import PayloadError
from codec.formats import NumberFormat, decode_rows, encode_rows, get_format, row_nbytes
from codec.header import (
    MAGIC,
    MAX_DIM,
    MAX_ROWS,
    MAX_TOKENS,
    MAX_VALUE_BYTES,
    VERSION,
    Header,
    append_crc,
    join_with_crc,
    pack_fields,
    read_fields,
    strip_crc,
)
from codec.payload import FullPayload, Payload, SubsetPayload, VQPayload, payload_kind
from codec.reader import ByteReader
from codec.sections import (
    check_index_coding,
    encode_indices,
    encode_positions,
    read_indices,
    read_positions,
)

if TYPE_CHECKING:
    from codec.expect import Expected

__all__ = [
    "parse",
    "ParsedPayload",
    "build_payload",
    "encode",
    "decode",
    "encode_side_info",
    "decode_side_info",
    "SideInfo",
    "payload_header",
]

IndexCoding = Literal["auto", "packed", "entropy"]


def _rows_of(payload: Payload) -> torch.Tensor:
    return payload.centroids if isinstance(payload, VQPayload) else payload.vectors


def _check_sizes(payload: Payload, fmt: NumberFormat) -> None:
    kind = payload_kind(payload)
    rows = _rows_of(payload)
    n = payload.n_tokens
    if rows.shape[1] < 1:
        raise ValueError("payload vectors must have dimension D >= 1")
    if n > MAX_TOKENS or rows.shape[1] > MAX_DIM or rows.shape[0] > MAX_ROWS:
        raise ValueError(
            f"payload too large for the codec: N={n}, D={rows.shape[1]}, rows={rows.shape[0]} "
            f"(limits {MAX_TOKENS}, {MAX_DIM}, {MAX_ROWS})"
        )
    if rows.shape[0] * row_nbytes(int(rows.shape[1]), fmt) > MAX_VALUE_BYTES:
        raise ValueError(
            f"payload too large for the codec: {tuple(rows.shape)} values exceed 256 MiB"
        )
    if kind == "subset" and rows.shape[0] > n:
        raise ValueError(f"subset holds {rows.shape[0]} vectors but n_tokens={n}")


def payload_header(payload: Payload, number_format: str = "fp16") -> Header:
    """The header :func:`encode` writes for ``payload`` (flags left False)."""
    rows = _rows_of(payload)
    return Header(
        kind=payload_kind(payload),
        number_format=get_format(number_format),
        n_tokens=payload.n_tokens,
        dim=int(rows.shape[1]),
        rows=int(rows.shape[0]),
    )


def _index_body(payload: Payload, index_coding: str) -> tuple[dict, bytes]:
    """Flags and bytes of the index/position section."""
    if isinstance(payload, VQPayload):
        entropy, body = encode_indices(
            payload.indices.cpu().numpy().astype(np.int64), payload.k, index_coding
        )
        return {"entropy": entropy}, body
    if isinstance(payload, SubsetPayload):
        if index_coding == "entropy":
            raise ValueError(
                "index_coding='entropy' applies to VQ payloads only; subset positions always "
                "use the smaller of bitmap and packed integers (use 'auto')"
            )
        bitmap, body = encode_positions(
            payload.positions.cpu().numpy().astype(np.int64), payload.n_tokens
        )
        return {"bitmap": bitmap}, body
    if index_coding == "entropy":
        raise ValueError("index_coding='entropy' applies to VQ payloads only (use 'auto')")
    return {}, b""


def encode(
    payload: Payload, number_format: str = "fp16", index_coding: IndexCoding = "auto"
) -> bytes:
    """Encode a payload to bytes (header, values, indices/positions, CRC-32).

    :param payload: a :class:`VQPayload`, :class:`SubsetPayload` or :class:`FullPayload`
    :param number_format: one of :data:`codec.NUMBER_FORMATS`
    :param index_coding: ``"auto"`` (entropy coding only when smaller), ``"packed"``
        or ``"entropy"`` (VQ only)
    :output: the encoded bytes; ``len(data) * 8`` is the payload's bit count
    """
    fmt = get_format(number_format)
    check_index_coding(index_coding)
    payload_kind(payload)
    _check_sizes(payload, fmt)
    flags, index_body = _index_body(payload, index_coding)
    h = payload_header(payload, number_format)
    h = Header(**{**h.__dict__, **flags})
    values = encode_rows(_rows_of(payload), fmt)
    head = MAGIC + bytes((VERSION,)) + pack_fields(h)
    return join_with_crc([head, values.reshape(-1), index_body])


def encode_side_info(payload: Payload) -> bytes:
    """Header + indices/positions only, no vector values (``number_format`` field fp32).

    What analog transmission sends over its digital side link; decode with
    :func:`decode_side_info`.
    """
    payload_kind(payload)
    _check_sizes(payload, get_format("fp32"))
    flags, index_body = _index_body(payload, "auto")
    h = payload_header(payload, "fp32")
    h = Header(**{**h.__dict__, **flags, "side_info": True})
    return append_crc(MAGIC + bytes((VERSION,)) + pack_fields(h) + index_body)


def _open(
    data: bytes, what: str = "payload", expect: Expected | None = None
) -> tuple[ByteReader, Header]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    if len(data) < len(MAGIC) + 1 + 4:
        raise PayloadError(f"{what} truncated: {len(data)} bytes")
    if bytes(data[: len(MAGIC)]) != MAGIC:
        raise PayloadError(f"{what}: wrong magic {bytes(data[:2])!r} (expected {MAGIC!r})")
    if data[len(MAGIC)] != VERSION:
        raise PayloadError(
            f"{what}: unsupported version {data[len(MAGIC)]} (this codec reads {VERSION})"
        )
    body = strip_crc(data if isinstance(data, bytes) else bytes(data), what)
    r = ByteReader(body, what)
    r.pos = len(MAGIC) + 1
    return r, read_fields(r, expect)


def _read_index_section(r: ByteReader, h: Header) -> tuple[np.ndarray | None, np.ndarray | None]:
    if h.kind == "vq":
        return read_indices(r, h.n_tokens, h.rows, h.entropy), None
    if h.kind == "subset":
        return None, read_positions(r, h.n_tokens, h.rows, h.bitmap)
    return None, None


@dataclass(frozen=True, eq=False)
class ParsedPayload:
    """An encoded payload split into its parts, values still encoded.

    :param header: the header fields
    :param values: ``rows * row_nbytes(dim, format)`` bytes of vector values
    :param indices: [N] int64 (vq) or None
    :param positions: [k] int64 (subset) or None
    """

    header: Header
    values: bytes | memoryview
    indices: np.ndarray | None
    positions: np.ndarray | None


def parse(data: bytes, *, expect: Expected | None = None) -> ParsedPayload:
    """Check and split bytes written by :func:`encode`; :class:`PayloadError` if malformed
    or (``expect``, a :class:`codec.Expected`) not what the receiver expects."""
    r, h = _open(data, expect=expect)
    if h.side_info:
        raise PayloadError("payload is side info without vector values; use decode_side_info")
    values = r.take(h.rows * row_nbytes(h.dim, h.number_format), "vector values")
    indices, positions = _read_index_section(r, h)
    r.expect_end()
    return ParsedPayload(h, values, indices, positions)


def decode(data: bytes, *, expect: Expected | None = None) -> Payload:
    """Decode bytes written by :func:`encode`.

    Every size is checked against the bytes present before anything is allocated; with
    ``expect`` the header must also match the receiver's N, D, formats and row limit.

    :param expect: what the receiver accepts (:class:`codec.Expected`), or None
    :output: the payload, vectors as float32 [rows, D], indices/positions int64
    :raises PayloadError: for any malformed or unexpected input
    """
    parsed = parse(data, expect=expect)
    h = parsed.header
    values = decode_rows(parsed.values, h.rows, h.dim, h.number_format)
    return build_payload(h, values, parsed.indices, parsed.positions)


def build_payload(
    h: Header, values: torch.Tensor, indices: np.ndarray | None, positions: np.ndarray | None
) -> Payload:
    """The payload of kind ``h.kind`` from decoded values [rows, D] and indices/positions."""
    if h.kind == "vq":
        return VQPayload(values, torch.from_numpy(indices))
    if h.kind == "subset":
        return SubsetPayload(values, torch.from_numpy(positions), h.n_tokens)
    return FullPayload(values)


@dataclass(frozen=True, eq=False)
class SideInfo:
    """What :func:`encode_side_info` carries.

    :param kind: ``"vq"``, ``"subset"`` or ``"full"``
    :param n_tokens: N
    :param dim: D
    :param rows: K / k / N, the number of vectors sent separately
    :param indices: [N] int64 (vq) or None
    :param positions: [k] int64 (subset) or None
    """

    kind: str
    n_tokens: int
    dim: int
    rows: int
    indices: torch.Tensor | None
    positions: torch.Tensor | None

    def with_vectors(self, vectors: torch.Tensor) -> Payload:
        """The payload made of this side info and ``vectors`` [rows, D]."""
        if tuple(vectors.shape) != (self.rows, self.dim):
            raise ValueError(
                f"vectors must have shape {(self.rows, self.dim)}, got {tuple(vectors.shape)}"
            )
        if self.kind == "vq":
            return VQPayload(vectors, self.indices)
        if self.kind == "subset":
            return SubsetPayload(vectors, self.positions, self.n_tokens)
        return FullPayload(vectors)


def decode_side_info(data: bytes, *, expect: Expected | None = None) -> SideInfo:
    """Decode bytes written by :func:`encode_side_info`; :class:`PayloadError` if malformed
    or (``expect``) not what the receiver expects."""
    r, h = _open(data, "side info", expect)
    if not h.side_info:
        raise PayloadError("side info: this is a full payload (side-info flag clear); use decode")
    indices, positions = _read_index_section(r, h)
    r.expect_end()
    return SideInfo(
        kind=h.kind,
        n_tokens=h.n_tokens,
        dim=h.dim,
        rows=h.rows,
        indices=None if indices is None else torch.from_numpy(indices),
        positions=None if positions is None else torch.from_numpy(positions),
    )
