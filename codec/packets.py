"""Packetization for lossy links: self-describing packets, each with its own CRC.

:func:`packetize` lays an encoded payload out so that one lost packet costs a known,
small part of it, and :func:`reassemble` rebuilds what arrived (lost packets are
``None``; packets failing their CRC count as lost).

Packet layout (version 1)::

    type        1 byte   0xA1 rows packet, 0xB1 index packet (high nibble section,
                         low nibble version)
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
kind, format, N, D and rows, so any one packet that arrives identifies the payload;
the whole per-packet overhead is 15-16 bytes for PaliGemma sizes (1.2% of a 1400-byte
packet). Subset positions travel with their
vectors, so a lost packet loses those vectors and their positions together.
K = 1 indices cost nothing and need no packet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import torch

from codec.bitpack import bits_for, pack_uint, packed_nbytes, unpack_uint
from codec.errors import PayloadError
from codec.formats import bad_scale_rows, decode_rows, row_nbytes
from codec.header import CRC_BYTES, Header, append_crc, pack_fields, read_fields, strip_crc
from codec.payload import Payload
from codec.reader import ByteReader, varint_len, write_varint
from codec.sections import check_positions, encode_indices, read_indices
from codec.serialize import build_payload, parse

__all__ = ["packetize", "reassemble", "Reassembled", "parse_packet", "Packet"]

_VERSION = 1
ROWS_TYPE = 0xA0 | _VERSION
INDEX_TYPE = 0xB0 | _VERSION


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


@dataclass(frozen=True, eq=False)
class Reassembled:
    """What :func:`reassemble` recovered.

    :param payload: the payload with missing parts zero-filled (subset rows whose
        position was lost get placeholder positions inside the gap they must lie in);
        None only when no valid packet arrived
    :param missing_vectors: [rows] bool, centroid rows / kept vectors / full vectors lost
    :param missing_indices: [N] bool; VQ: token indices lost; subset: tokens whose
        kept/dropped status is unknown (a lost position could lie there); full: all False
    :param packets_total: packets handed in
    :param packets_lost: ``None`` entries
    :param packets_corrupted: packets failing CRC or parsing, or not matching the others
    """

    payload: Payload | None
    missing_vectors: torch.Tensor
    missing_indices: torch.Tensor
    packets_total: int = 0
    packets_lost: int = 0
    packets_corrupted: int = 0


def _fields(h: Header, entropy: bool = False) -> bytes:
    return pack_fields(replace(h, entropy=entropy, bitmap=False, side_info=False))


def _balanced(total: int, n_parts: int) -> np.ndarray:
    """Boundaries [n_parts + 1] splitting ``range(total)`` into near-equal chunks."""
    return np.arange(n_parts + 1, dtype=np.int64) * total // n_parts


def packetize(data: bytes, mtu: int = 1400) -> list[bytes]:
    """Split an encoded payload (from :func:`codec.encode`) into packets of at most
    ``mtu`` bytes (see the module docstring for the layout).

    :param data: bytes from :func:`codec.encode`
    :param mtu: largest packet in bytes
    :output: the packets; ``sum(len(p) * 8 for p in packets)`` is the bit count
    :raises ValueError: ``mtu`` too small for one packet header and one byte of data
        (the message says the minimum)
    :raises PayloadError: ``data`` is not a valid payload
    """
    if not isinstance(mtu, int) or isinstance(mtu, bool):
        raise TypeError(f"mtu must be an int, got {type(mtu).__name__}")
    parsed = parse(data)
    h = parsed.header
    fixed = 1 + len(_fields(h)) + CRC_BYTES
    rb = row_nbytes(h.dim, h.number_format)
    pos_bits = bits_for(h.n_tokens) if h.kind == "subset" else 0
    idx_bits = bits_for(h.rows) if h.kind == "vq" else 0
    table = np.frombuffer(parsed.values, dtype=np.uint8).reshape(h.rows, rb)
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
    parts = 1
    if per_packet == 0 and h.rows > 0:
        parts = 2
        while True:
            frag_avail = mtu - fixed - varint_len(h.rows) - 1 - 2 * varint_len(parts) - pos1
            if frag_avail < 1:
                raise too_small
            need = -(-rb // frag_avail)
            if need <= parts:
                break
            parts = need

    packets: list[bytes] = []
    rows_fields = bytes((ROWS_TYPE,)) + _fields(h)
    positions = parsed.positions
    if per_packet > 0:
        bounds = _balanced(h.rows, -(-h.rows // per_packet))
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
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

    if has_index_packets:
        idx_avail = mtu - fixed - 2 * varint_len(h.n_tokens)
        per_index_packet = (idx_avail * 8) // idx_bits if idx_avail > 0 else 0
        if per_index_packet < 1:
            raise too_small
        bounds = _balanced(h.n_tokens, -(-h.n_tokens // per_index_packet))
        coding = "auto" if h.entropy else "packed"
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            entropy, section = encode_indices(parsed.indices[lo:hi], h.rows, coding)
            head = bytes((INDEX_TYPE,)) + _fields(h, entropy)
            packets.append(append_crc(head + write_varint(lo) + write_varint(hi - lo) + section))
    if not packets:  # nothing to carry (an empty subset): one header-only packet
        packets.append(
            append_crc(rows_fields + write_varint(0) + write_varint(0) + write_varint(1))
        )
    return packets


def parse_packet(packet: bytes) -> Packet:
    """Check and parse one packet; :class:`PayloadError` if it is not valid."""
    if not isinstance(packet, bytes | bytearray | memoryview):
        raise PayloadError(f"packet must be bytes, got {type(packet).__name__}")
    body = strip_crc(bytes(packet), "packet")
    r = ByteReader(body, "packet")
    kind_byte = r.u8("packet type")
    if kind_byte not in (ROWS_TYPE, INDEX_TYPE):
        raise PayloadError(f"packet: unknown packet type 0x{kind_byte:02x}")
    h = read_fields(r)
    if h.bitmap or h.side_info:
        raise PayloadError("packet: bitmap/side-info flags are not used in packets")
    start = r.varint("start")
    count = r.varint("count")
    if kind_byte == INDEX_TYPE:
        if h.kind != "vq" or start + count > h.n_tokens:
            raise PayloadError(
                f"packet: index range [{start}, {start + count}) outside N={h.n_tokens}"
            )
        indices = read_indices(r, count, h.rows, h.entropy)
        r.expect_end()
        return Packet(h, "indices", start, count, 0, 1, None, b"", indices)
    if h.entropy:
        raise PayloadError("packet: entropy flag set on a rows packet")
    if start + count > h.rows:
        raise PayloadError(f"packet: row range [{start}, {start + count}) outside rows={h.rows}")
    parts = r.varint("parts")
    rb = row_nbytes(h.dim, h.number_format)
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
    return Packet(h, "rows", start, count, part, parts, positions, data, None)


def _fill_positions(
    pos: np.ndarray, known: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Placeholder positions for rows whose position was lost, inside the gap between
    the known neighbours (evenly spread); and the [n] mask of tokens in such gaps.
    None when the known positions cannot come from one payload."""
    k = pos.size
    kp = pos[known]
    if kp.size > 1 and not bool((np.diff(kp) > 0).all()):
        return None
    rows = np.arange(k)
    prev_row = np.maximum.accumulate(np.where(known, rows, -1))
    next_row = np.minimum.accumulate(np.where(known, rows, k)[::-1])[::-1]
    padded = np.concatenate(([-1], pos, [n]))
    a = padded[prev_row + 1]  # known position before (or -1)
    b = padded[next_row + 1]  # known position after (or n)
    m = next_row - prev_row - 1  # unknown rows in this gap
    i = rows - prev_row - 1  # rank of the row inside its gap
    slack = (b - a - 1) - m
    lost = ~known
    if bool((slack[lost] < 0).any()):
        return None
    filled = np.where(known, pos, a + 1 + i + (slack * (i + 1)) // np.maximum(m + 1, 1))
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, a[lost] + 1, 1)
    np.add.at(diff, b[lost], -1)
    return filled, np.cumsum(diff[:n]) > 0


def _header_key(h: Header) -> tuple:
    return (h.kind, h.number_format.code, h.n_tokens, h.dim, h.rows)


def reassemble(packets: list[bytes | None]) -> Reassembled:
    """Rebuild a payload from packets in any order, some of them ``None`` (lost).

    Packets that fail their CRC or do not parse count as lost (``packets_corrupted``);
    packets that disagree with the majority on kind/format/N/D/rows too. Never raises
    for damaged input.

    :output: :class:`Reassembled` with zero-filled gaps and the masks of what is missing
    """
    if not isinstance(packets, list | tuple):
        raise TypeError(f"packets must be a list of bytes or None, got {type(packets).__name__}")
    parsed: list[Packet] = []
    lost = corrupted = 0
    for packet in packets:
        if packet is None:
            lost += 1
            continue
        try:
            parsed.append(parse_packet(packet))
        except PayloadError:
            corrupted += 1
    if not parsed:
        empty = torch.zeros(0, dtype=torch.bool)
        return Reassembled(None, empty, empty.clone(), len(packets), lost, corrupted)
    votes = Counter(_header_key(p.header) for p in parsed)
    key = votes.most_common(1)[0][0]
    agreeing = [p for p in parsed if _header_key(p.header) == key]
    corrupted += len(parsed) - len(agreeing)
    h = replace(agreeing[0].header, entropy=False)
    n, rows, fmt = h.n_tokens, h.rows, h.number_format
    rb = row_nbytes(h.dim, fmt)

    table = np.zeros((rows, rb), dtype=np.uint8)
    row_ok = np.zeros(rows, dtype=bool)
    frags: dict[int, tuple[int, set[int]]] = {}
    pos = np.zeros(rows, dtype=np.int64)
    pos_known = np.zeros(rows, dtype=bool)
    indices = np.zeros(n if h.kind == "vq" else 0, dtype=np.int64)
    index_ok = np.zeros(indices.size, dtype=bool)
    if h.kind == "vq" and bits_for(rows) == 0:
        index_ok[:] = True  # K = 1: every index is 0, nothing was sent

    for p in agreeing:
        lo, hi = p.start, p.start + p.count
        if p.section == "indices":
            indices[lo:hi] = p.indices
            index_ok[lo:hi] = True
            continue
        if p.positions is not None:
            pos[lo:hi] = p.positions
            pos_known[lo:hi] = True
        if p.parts == 1:
            table[lo:hi] = np.frombuffer(p.data, dtype=np.uint8).reshape(p.count, rb)
            row_ok[lo:hi] = True
            continue
        cut_lo, cut_hi = p.part * rb // p.parts, (p.part + 1) * rb // p.parts
        table[lo, cut_lo:cut_hi] = np.frombuffer(p.data, dtype=np.uint8)
        expected, got = frags.setdefault(lo, (p.parts, set()))
        if expected == p.parts:
            got.add(p.part)
    for row, (expected, got) in frags.items():
        if len(got) == expected:
            row_ok[row] = True

    row_ok &= ~bad_scale_rows(table, fmt)
    table[~row_ok] = 0
    values = decode_rows(table.reshape(-1), rows, h.dim, fmt)
    missing_indices = (
        torch.from_numpy(~index_ok) if h.kind == "vq" else torch.zeros(n, dtype=torch.bool)
    )
    positions = None
    if h.kind == "subset":
        filled = _fill_positions(pos, pos_known, n)
        if filled is None:  # inconsistent positions: trust none of them
            row_ok[:] = False
            values.zero_()
            filled = _fill_positions(pos, np.zeros(rows, dtype=bool), n)
        positions, gap_mask = filled
        missing_indices = torch.from_numpy(gap_mask)
    payload = build_payload(h, values, indices if h.kind == "vq" else None, positions)
    return Reassembled(
        payload,
        torch.from_numpy(~row_ok),
        missing_indices,
        len(packets),
        lost,
        corrupted,
    )
