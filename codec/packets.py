"""Packetization for lossy links: self-describing packets, each with its own CRC.

:func:`packetize` lays an encoded payload out so that one lost packet costs a known,
small part of it; :func:`codec.reassemble` rebuilds what arrived. This docstring is
the one description of the packet wire format.

Packet layout (version 2)::

    type        1 byte   0xA2 rows packet, 0xB2 index packet (high nibble section,
                         low nibble version; version 1 packets are refused)
    payload id  4 bytes  little endian; identifies the payload the packet belongs to
                         (default: the encoded payload's own CRC-32, i.e. its last
                         4 bytes; or a caller-given 32-bit id)
    packets     varint   P >= 1, the number of packets the payload was split into
    fields      type/flags, number format, N, D, rows: as in the payload header
                (codec.header; flag bit 2 = this index chunk is entropy coded)
    start       varint   first row (rows packet) or first token (index packet)
    count       varint   rows / indices in this packet
    rows packet:
      parts     varint   1 = whole rows; P > 1 = one row split in P fragments
      part      varint   only when parts > 1: which fragment (count is then 1)
      positions          subset only: the rows' token positions, packed at
                         ceil(log2 N) bits
      values             count whole rows, or bytes [part*B//P, (part+1)*B//P) of
                         the row's B encoded bytes
    index packet:
      indices            count VQ indices, packed at ceil(log2 K) bits or entropy
                         coded (codec.entropy) when that is smaller for this chunk
    CRC-32      4 bytes  zlib.crc32 of everything before it

What one lost packet costs: a rows packet loses its whole rows (a fragment loses the
row it belongs to); an index packet loses its range of token indices. Rows are spread
evenly over the rows packets and indices over the index packets. Every packet repeats
the payload id, P, kind, format, N, D and rows, so any one packet that arrives
identifies its payload and packets of different payloads never merge; the whole
per-packet overhead is 20-21 bytes for PaliGemma sizes (1.5% of a 1400-byte packet),
all of it real bytes counted in ``len(packet) * 8``. Subset positions travel with
their vectors, so a lost packet loses those vectors and their positions together.
K = 1 indices cost nothing and need no packet.

A packet is at most :data:`MAX_PACKET_BYTES` (65535) bytes, and a header is refused
when its declared vector values (rows x row bytes) could not fit in its P packets of
that size: a receiver that hands in one slot per packet (``None`` for lost ones)
therefore never allocates more than about 8 x 65535 bytes per slot.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from codec.bitpack import bits_for, pack_uint, packed_nbytes, unpack_uint
from codec.errors import PayloadError
from codec.formats import row_nbytes
from codec.header import CRC_BYTES, Header, append_crc, pack_fields, read_fields, strip_crc
from codec.reader import ByteReader, varint_len, write_varint
from codec.sections import check_positions, encode_indices, read_indices
from codec.serialize import parse

if TYPE_CHECKING:
    from codec.expect import Expected

__all__ = [
    "packetize",
    "parse_packet",
    "check_payload_id",
    "Packet",
    "MAX_PACKET_BYTES",
    "PACKET_VERSION",
]

PACKET_VERSION = 2
ROWS_TYPE = 0xA0 | PACKET_VERSION
INDEX_TYPE = 0xB0 | PACKET_VERSION
#: Largest packet (and ``mtu``) in bytes: the largest IPv4/UDP datagram.
MAX_PACKET_BYTES = 65535
_ID_BYTES = 4


@dataclass(frozen=True, eq=False)
class Packet:
    """A parsed packet.

    :param header: the payload's header fields (``entropy``: this index chunk)
    :param section: ``"rows"`` or ``"indices"``
    :param start: first row / first token
    :param count: rows / indices carried
    :param part: fragment number (0 for whole rows)
    :param parts: fragments per row (1 for whole rows)
    :param positions: subset rows' positions [count] int64, else None
    :param data: encoded row bytes (rows packets), else b""
    :param indices: [count] int64 (index packets), else None
    :param payload_id: the 32-bit id of the payload this packet belongs to
    :param n_packets: P, packets the payload was split into
    """

    header: Header
    section: str
    start: int
    count: int
    part: int
    parts: int
    positions: np.ndarray | None
    data: bytes
    indices: np.ndarray | None
    payload_id: int = 0
    n_packets: int = 1


def _fields(h: Header, entropy: bool = False) -> bytes:
    return pack_fields(replace(h, entropy=entropy, bitmap=False, side_info=False))


def _balanced(total: int, n_parts: int) -> np.ndarray:
    """Boundaries [n_parts + 1] splitting ``range(total)`` into near-equal chunks."""
    return np.arange(n_parts + 1, dtype=np.int64) * total // n_parts


def _plan(h: Header, mtu: int, fixed: int) -> tuple[list[int] | None, int, list[int], int]:
    """Layout for packets whose fixed part (type, id, P, fields, CRC) is ``fixed``
    bytes: ``(row_bounds, parts, index_bounds, n_packets)``; ValueError if ``mtu`` is
    too small."""
    rb = row_nbytes(h.dim, h.number_format)
    pos_bits = bits_for(h.n_tokens) if h.kind == "subset" else 0
    idx_bits = bits_for(h.rows) if h.kind == "vq" else 0
    has_index_packets = h.kind == "vq" and idx_bits > 0 and h.n_tokens > 0

    # Whole rows per packet when at least one fits, else each row in `parts` fragments.
    rows_head = fixed + 2 * varint_len(h.rows) + 1
    pos1 = packed_nbytes(1, pos_bits)
    min_mtu = fixed + varint_len(h.rows) + 1 + 2 * varint_len(rb) + pos1 + 1
    if has_index_packets:
        min_mtu = max(min_mtu, fixed + 2 * varint_len(h.n_tokens) + packed_nbytes(1, idx_bits))
    too_small = ValueError(f"mtu={mtu} is too small for this payload: use mtu >= {min_mtu}")
    avail = mtu - rows_head
    per_packet = 0
    if avail > 0:
        per_packet = min(h.rows, (avail * 8) // (rb * 8 + pos_bits))
        while per_packet > 0 and per_packet * rb + packed_nbytes(per_packet, pos_bits) > avail:
            per_packet -= 1
    parts, row_bounds = 1, None
    if per_packet > 0:
        row_bounds = _balanced(h.rows, -(-h.rows // per_packet)).tolist()
        n_rows_packets = len(row_bounds) - 1
    elif h.rows > 0:
        parts = 2
        while True:
            frag_avail = mtu - fixed - varint_len(h.rows) - 1 - 2 * varint_len(parts) - pos1
            if frag_avail < 1:
                raise too_small
            need = -(-rb // frag_avail)
            if need <= parts:
                break
            parts = need
        n_rows_packets = h.rows * parts
    else:
        n_rows_packets = 0
    index_bounds: list[int] = []
    if has_index_packets:
        idx_avail = mtu - fixed - 2 * varint_len(h.n_tokens)
        per_index_packet = (idx_avail * 8) // idx_bits if idx_avail > 0 else 0
        if per_index_packet < 1:
            raise too_small
        index_bounds = _balanced(h.n_tokens, -(-h.n_tokens // per_index_packet)).tolist()
    n_packets = max(n_rows_packets + max(len(index_bounds) - 1, 0), 1)
    return row_bounds, parts, index_bounds, n_packets


def check_payload_id(payload_id: object) -> int:
    """``payload_id`` as an int in ``[0, 2**32)``; TypeError / ValueError otherwise."""
    if isinstance(payload_id, bool) or not hasattr(payload_id, "__index__"):
        raise TypeError(f"payload_id must be an int, got {type(payload_id).__name__}")
    value = int(payload_id)  # type: ignore[call-overload]
    if not 0 <= value < 2**32:
        raise ValueError(f"payload_id must lie in [0, 2**32), got {value}")
    return value


def packetize(data: bytes, mtu: int = 1400, *, payload_id: int | None = None) -> list[bytes]:
    """Split an encoded payload (from :func:`codec.encode`) into packets of at most
    ``mtu`` bytes (see the module docstring for the layout).

    :param data: bytes from :func:`codec.encode`
    :param mtu: largest packet in bytes, at most :data:`MAX_PACKET_BYTES`
    :param payload_id: the 32-bit id every packet carries; default the payload's CRC-32
        (two different payloads then differ in id except with probability 2**-32)
    :output: the packets; ``sum(len(p) * 8 for p in packets)`` is the bit count
    :raises ValueError: ``mtu`` too small for one packet header and one byte of data
        (the message says the minimum) or above :data:`MAX_PACKET_BYTES`
    :raises PayloadError: ``data`` is not a valid payload
    """
    if not isinstance(mtu, int) or isinstance(mtu, bool):
        raise TypeError(f"mtu must be an int, got {type(mtu).__name__}")
    if mtu > MAX_PACKET_BYTES:
        raise ValueError(f"mtu={mtu} exceeds the largest packet, {MAX_PACKET_BYTES} bytes")
    parsed = parse(data)
    crc = struct.unpack("<I", bytes(data[-CRC_BYTES:]))[0]
    pid = check_payload_id(crc if payload_id is None else payload_id)
    h = parsed.header
    fields = _fields(h)
    # P's varint length changes the fixed part: grow it until the plan agrees with it
    # (a larger fixed part never means fewer packets, so this ends with equal lengths).
    p_len = 1
    while True:
        fixed = 1 + _ID_BYTES + p_len + len(fields) + CRC_BYTES
        row_bounds, parts, index_bounds, n_packets = _plan(h, mtu, fixed)
        if varint_len(n_packets) <= p_len:
            break
        p_len = varint_len(n_packets)
    ident = struct.pack("<I", pid) + write_varint(n_packets)
    rb = row_nbytes(h.dim, h.number_format)
    pos_bits = bits_for(h.n_tokens) if h.kind == "subset" else 0
    table = np.frombuffer(parsed.values, dtype=np.uint8).reshape(h.rows, rb)

    packets: list[bytes] = []
    rows_fields = bytes((ROWS_TYPE,)) + ident + fields
    positions = parsed.positions
    if row_bounds is not None:
        for lo, hi in zip(row_bounds[:-1], row_bounds[1:], strict=True):
            body = rows_fields + write_varint(lo) + write_varint(hi - lo) + write_varint(1)
            if positions is not None:
                body += pack_uint(positions[lo:hi], pos_bits)
            packets.append(append_crc(body + table[lo:hi].tobytes()))
    elif h.rows > 0:
        cuts = _balanced(rb, parts).tolist()
        for row in range(h.rows):
            pos = b"" if positions is None else pack_uint(positions[row : row + 1], pos_bits)
            head = rows_fields + write_varint(row) + write_varint(1) + write_varint(parts)
            row_bytes = table[row].tobytes()
            for part in range(parts):
                frag = row_bytes[cuts[part] : cuts[part + 1]]
                packets.append(append_crc(head + write_varint(part) + pos + frag))

    coding = "auto" if h.entropy else "packed"
    for lo, hi in zip(index_bounds[:-1], index_bounds[1:], strict=False):
        entropy, section = encode_indices(parsed.indices[lo:hi], h.rows, coding)
        head = bytes((INDEX_TYPE,)) + ident + _fields(h, entropy)
        packets.append(append_crc(head + write_varint(lo) + write_varint(hi - lo) + section))
    if not packets:  # nothing to carry (an empty subset): one header-only packet
        packets.append(
            append_crc(rows_fields + write_varint(0) + write_varint(0) + write_varint(1))
        )
    if len(packets) != n_packets:  # the plan and the packets are one computation
        raise AssertionError(f"packetize planned {n_packets} packets, built {len(packets)}")
    return packets


def _read_type(r: ByteReader) -> int:
    kind_byte = r.u8("packet type")
    if kind_byte >> 4 in (ROWS_TYPE >> 4, INDEX_TYPE >> 4) and kind_byte & 0x0F != PACKET_VERSION:
        raise PayloadError(
            f"packet: format version {kind_byte & 0x0F} is not supported (this codec reads "
            f"packet version {PACKET_VERSION}); re-packetize the payload with this codec"
        )
    if kind_byte not in (ROWS_TYPE, INDEX_TYPE):
        raise PayloadError(f"packet: unknown packet type 0x{kind_byte:02x}")
    return kind_byte


def parse_packet(packet: bytes, *, expect: Expected | None = None) -> Packet:
    """Check and parse one packet; :class:`PayloadError` if it is not valid.

    The header is checked (against ``expect`` too, when given) before anything sized
    by it is read or allocated; its declared vector values must fit in its P packets
    of :data:`MAX_PACKET_BYTES`.

    :param expect: what the receiver accepts (:class:`codec.Expected`), or None
    """
    if not isinstance(packet, bytes | bytearray | memoryview):
        raise PayloadError(f"packet must be bytes, got {type(packet).__name__}")
    if len(packet) > MAX_PACKET_BYTES:
        raise PayloadError(
            f"packet of {len(packet)} bytes exceeds the largest packet, {MAX_PACKET_BYTES}"
        )
    body = strip_crc(bytes(packet), "packet")
    r = ByteReader(body, "packet")
    kind_byte = _read_type(r)
    payload_id = int.from_bytes(r.take(_ID_BYTES, "payload id"), "little")
    n_packets = r.varint("packet count")
    if n_packets < 1:
        raise PayloadError("packet: packet count P must be >= 1")
    h = read_fields(r, expect)
    if h.bitmap or h.side_info:
        raise PayloadError("packet: bitmap/side-info flags are not used in packets")
    rb = row_nbytes(h.dim, h.number_format)
    if h.rows * rb > n_packets * MAX_PACKET_BYTES:
        raise PayloadError(
            f"packet: {h.rows} rows of {rb} bytes cannot fit in the P={n_packets} packets "
            f"it declares (at most {MAX_PACKET_BYTES} bytes each)"
        )
    start = r.varint("start")
    count = r.varint("count")
    ids = {"payload_id": payload_id, "n_packets": n_packets}
    if kind_byte == INDEX_TYPE:
        if h.kind != "vq" or start + count > h.n_tokens:
            raise PayloadError(
                f"packet: index range [{start}, {start + count}) outside N={h.n_tokens}"
            )
        indices = read_indices(r, count, h.rows, h.entropy)
        r.expect_end()
        return Packet(h, "indices", start, count, 0, 1, None, b"", indices, **ids)
    if h.entropy:
        raise PayloadError("packet: entropy flag set on a rows packet")
    if start + count > h.rows:
        raise PayloadError(f"packet: row range [{start}, {start + count}) outside rows={h.rows}")
    parts = r.varint("parts")
    if parts < 1 or parts > rb or (parts > 1 and count != 1):
        raise PayloadError(f"packet: invalid fragment count {parts} for {count} rows")
    part = r.varint("part") if parts > 1 else 0
    if part >= parts:
        raise PayloadError(f"packet: fragment {part} of {parts}")
    positions = None
    if h.kind == "subset":
        bits = bits_for(h.n_tokens)
        positions = unpack_uint(r.take(packed_nbytes(count, bits), "positions"), count, bits)
        check_positions(positions, h.n_tokens, "packet")
    size = count * rb if parts == 1 else (part + 1) * rb // parts - part * rb // parts
    data = bytes(r.take(size, "vector values"))
    r.expect_end()
    return Packet(h, "rows", start, count, part, parts, positions, data, None, **ids)
