"""The versioned payload header and the CRC trailer.

Wire layout of an encoded payload (version 1)::

    magic  "CI"           2 bytes
    version               1 byte   (1)
    type                  1 byte   bits 0-1 kind (0 vq, 1 subset, 2 full)
                                   bit 2    indices entropy coded (vq only)
                                   bit 3    positions as bitmap (subset only)
                                   bit 4    side info only (no vector values)
                                   bits 5-7 zero
    number format code    1 byte   (see codec.formats)
    N (n_tokens)          varint   (unsigned LEB128, 1-5 bytes)
    D (dim)               varint
    rows                  varint   K centroids / k kept vectors / N vectors
    body                  ...      (see codec.serialize)
    CRC-32                4 bytes  little endian, zlib.crc32 of everything before it

For PaliGemma-224 (N=256, D=2048, K=8) the header is 10 bytes, so header and
CRC together cost 14 bytes beyond the values and indices.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codec.errors import PayloadError
from codec.formats import NumberFormat, format_by_code, row_nbytes
from codec.reader import ByteReader, write_varint

if TYPE_CHECKING:
    from codec.expect import Expected

__all__ = [
    "MAGIC",
    "VERSION",
    "KINDS",
    "MAX_TOKENS",
    "MAX_DIM",
    "MAX_ROWS",
    "MAX_VALUE_BYTES",
    "CRC_BYTES",
    "Header",
    "pack_fields",
    "read_fields",
    "append_crc",
    "join_with_crc",
    "strip_crc",
]

MAGIC = b"CI"
VERSION = 1
KINDS = ("vq", "subset", "full")
#: Size limits: the decoder refuses larger fields before allocating anything.
MAX_TOKENS = 2**20
MAX_DIM = 2**20
MAX_ROWS = 2**20
#: Largest total of encoded vector values (rows * row bytes), 256 MiB.
MAX_VALUE_BYTES = 2**28
CRC_BYTES = 4

_ENTROPY = 0x04
_BITMAP = 0x08
_SIDE_INFO = 0x10
_RESERVED = 0xE0


@dataclass(frozen=True)
class Header:
    """Decoded header fields.

    :param kind: ``"vq"``, ``"subset"`` or ``"full"``
    :param number_format: format of the vector values
    :param n_tokens: N
    :param dim: D
    :param rows: K (vq), k (subset) or N (full)
    :param entropy: indices are entropy coded (vq only)
    :param bitmap: subset positions are a bitmap rather than packed integers
    :param side_info: the payload holds no vector values
    """

    kind: str
    number_format: NumberFormat
    n_tokens: int
    dim: int
    rows: int
    entropy: bool = False
    bitmap: bool = False
    side_info: bool = False


def pack_fields(h: Header) -> bytes:
    """The header fields after the magic and version: type, format, N, D, rows."""
    type_byte = KINDS.index(h.kind)
    type_byte |= _ENTROPY if h.entropy else 0
    type_byte |= _BITMAP if h.bitmap else 0
    type_byte |= _SIDE_INFO if h.side_info else 0
    return (
        bytes((type_byte, h.number_format.code))
        + write_varint(h.n_tokens)
        + write_varint(h.dim)
        + write_varint(h.rows)
    )


def read_fields(r: ByteReader, expect: Expected | None = None) -> Header:
    """Read and validate what :func:`pack_fields` wrote; :class:`PayloadError` if invalid
    or, when ``expect`` is given, if the fields are not what the receiver expects."""
    type_byte = r.u8("type")
    if type_byte & _RESERVED or type_byte & 0x03 == 3:
        raise PayloadError(f"{r.what}: invalid type byte 0x{type_byte:02x}")
    kind = KINDS[type_byte & 0x03]
    fmt = format_by_code(r.u8("number format"))
    n_tokens = r.varint("N")
    dim = r.varint("D")
    rows = r.varint("rows")
    h = Header(
        kind=kind,
        number_format=fmt,
        n_tokens=n_tokens,
        dim=dim,
        rows=rows,
        entropy=bool(type_byte & _ENTROPY),
        bitmap=bool(type_byte & _BITMAP),
        side_info=bool(type_byte & _SIDE_INFO),
    )
    _check(h, r.what)
    if expect is not None:
        expect.check_header(h, r.what)
    return h


def _check(h: Header, what: str) -> None:
    if h.n_tokens > MAX_TOKENS or h.dim > MAX_DIM or h.rows > MAX_ROWS:
        raise PayloadError(
            f"{what}: impossible sizes N={h.n_tokens}, D={h.dim}, rows={h.rows} "
            f"(limits {MAX_TOKENS}, {MAX_DIM}, {MAX_ROWS})"
        )
    if h.rows * row_nbytes(h.dim, h.number_format) > MAX_VALUE_BYTES:
        raise PayloadError(f"{what}: impossible size: {h.rows} rows of D={h.dim} exceed 256 MiB")
    if h.dim < 1:
        raise PayloadError(f"{what}: D must be >= 1, got {h.dim}")
    if h.kind == "vq" and h.rows < 1:
        raise PayloadError(f"{what}: a VQ payload needs K >= 1 centroids")
    if h.kind == "subset" and (h.n_tokens < 1 or h.rows > h.n_tokens):
        raise PayloadError(f"{what}: subset of {h.rows} vectors among N={h.n_tokens} tokens")
    if h.kind == "full" and h.rows != h.n_tokens:
        raise PayloadError(f"{what}: full payload with rows={h.rows} != N={h.n_tokens}")
    if h.entropy and (h.kind != "vq" or h.rows < 2 or h.n_tokens < 1):
        raise PayloadError(f"{what}: entropy flag set on a payload that cannot use it")
    if h.bitmap and h.kind != "subset":
        raise PayloadError(f"{what}: bitmap flag set on a {h.kind} payload")


def append_crc(body: bytes) -> bytes:
    """``body`` followed by its little-endian CRC-32."""
    return body + struct.pack("<I", zlib.crc32(body))


def join_with_crc(parts: list) -> bytes:
    """The concatenation of ``parts`` (bytes-like) followed by its CRC-32, copied once."""
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return b"".join([*parts, struct.pack("<I", crc)])


def strip_crc(data: bytes, what: str = "payload") -> memoryview:
    """Check the trailing CRC-32 of ``data`` and return the bytes before it."""
    if len(data) < CRC_BYTES:
        raise PayloadError(f"{what} truncated: {len(data)} bytes is too short for a CRC")
    view = memoryview(data)
    body = view[:-CRC_BYTES]
    (expected,) = struct.unpack("<I", view[-CRC_BYTES:])
    if zlib.crc32(body) != expected:
        raise PayloadError(f"{what}: CRC mismatch (corrupted or truncated)")
    return body
