"""Reassembly: rebuild one payload from the packets that arrived, within a budget.

:func:`reassemble` takes one slot per sent packet (``None`` where it was lost). Every
packet is checked (CRC, layout, and the receiver's :class:`codec.Expected` when given)
before anything sized by its header is allocated; then the packets are grouped by
payload identity (payload id, packet count P and the header fields) and the largest
group is rebuilt. Packets of other payloads are dropped and counted
(``packets_foreign``), never merged.

Budget: a packet may declare at most as many packets P as there are slots, and its
declared vector values (rows x row bytes) must fit in P packets of
:data:`codec.MAX_PACKET_BYTES`; so without ``expect`` the rebuilt vector table is at
most ``len(packets) * 65535`` encoded bytes (8x that as float32 at int4), and the
indices at most :data:`codec.MAX_TOKENS`. With ``expect`` the bounds are the model's
own: N indices, at most ``max_rows`` rows of D values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from codec.bitpack import bits_for
from codec.errors import PayloadError
from codec.formats import bad_scale_rows, decode_rows, row_nbytes
from codec.header import Header
from codec.packets import Packet, check_payload_id, parse_packet
from codec.payload import Payload
from codec.serialize import build_payload

if TYPE_CHECKING:
    from codec.expect import Expected

__all__ = ["reassemble", "Reassembled"]

#: Distinct error messages kept in :attr:`Reassembled.errors`.
MAX_ERRORS = 8


@dataclass(frozen=True, eq=False)
class Reassembled:
    """What :func:`reassemble` recovered.

    :param payload: the payload with missing parts zero-filled (subset rows whose
        position was lost get placeholder positions inside the gap they must lie in);
        None only when no valid packet arrived
    :param missing_vectors: [rows] bool, centroid rows / kept vectors / full vectors lost
    :param missing_indices: [N] bool; VQ: token indices lost; subset: tokens whose
        kept/dropped status is unknown (a lost position could lie there); full: all False
    :param packets_total: packets handed in (slots, lost ones included)
    :param packets_lost: ``None`` entries
    :param packets_corrupted: packets failing CRC or parsing, refused by the budget or
        the receiver's expectation, or with the payload's id but other header fields
    :param packets_foreign: valid packets of another payload (another id or packet
        count), dropped
    :param payload_id: the rebuilt payload's 32-bit id (None when nothing arrived)
    :param packets_expected: P, the packets that payload was split into (0 when nothing
        arrived)
    :param errors: up to 8 distinct messages saying why packets were refused
    """

    payload: Payload | None
    missing_vectors: torch.Tensor
    missing_indices: torch.Tensor
    packets_total: int = 0
    packets_lost: int = 0
    packets_corrupted: int = 0
    packets_foreign: int = 0
    payload_id: int | None = None
    packets_expected: int = 0
    errors: tuple[str, ...] = ()


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


def _key(p: Packet) -> tuple:
    h = p.header
    return (p.payload_id, p.n_packets, h.kind, h.number_format.code, h.n_tokens, h.dim, h.rows)


def reassemble(
    packets: list[bytes | None],
    *,
    expect: Expected | None = None,
    payload_id: int | None = None,
) -> Reassembled:
    """Rebuild a payload from packets in any order, some of them ``None`` (lost).

    Never raises for damaged input: packets that fail their CRC, do not parse, declare
    more packets than there are slots, or disagree with ``expect`` count as corrupted;
    packets of another payload count as foreign; the largest group of packets of one
    payload is rebuilt (ties: the group whose first packet came first).

    :param packets: one entry per sent packet, ``None`` where it was lost
    :param expect: what the receiver accepts (:class:`codec.Expected`), or None
    :param payload_id: accept only packets carrying this id (default: any)
    :output: :class:`Reassembled` with zero-filled gaps and the masks of what is missing
    """
    if not isinstance(packets, list | tuple):
        raise TypeError(f"packets must be a list of bytes or None, got {type(packets).__name__}")
    wanted = None if payload_id is None else check_payload_id(payload_id)
    slots = len(packets)
    parsed: list[Packet] = []
    lost = corrupted = foreign = 0
    errors: dict[str, None] = {}
    for packet in packets:
        if packet is None:
            lost += 1
            continue
        try:
            p = parse_packet(packet, expect=expect)
            if p.n_packets > slots:
                raise PayloadError(
                    f"packet declares P={p.n_packets} packets but only {slots} slots were "
                    "handed in (pass one entry per sent packet, None where it was lost)"
                )
        except PayloadError as exc:
            corrupted += 1
            if len(errors) < MAX_ERRORS:
                errors[str(exc)] = None
            continue
        if wanted is not None and p.payload_id != wanted:
            foreign += 1
            continue
        parsed.append(p)
    if not parsed:
        empty = torch.zeros(0, dtype=torch.bool)
        return Reassembled(
            None, empty, empty.clone(), slots, lost, corrupted, foreign, errors=tuple(errors)
        )
    votes = Counter(_key(p) for p in parsed)  # insertion order breaks ties
    key = max(votes, key=votes.__getitem__)
    agreeing = [p for p in parsed if _key(p) == key]
    same_id = sum(p.payload_id == key[0] for p in parsed)
    corrupted += same_id - len(agreeing)
    foreign += len(parsed) - same_id
    h = replace(agreeing[0].header, entropy=False)
    payload, missing_vectors, missing_indices = _rebuild(h, agreeing)
    return Reassembled(
        payload,
        missing_vectors,
        missing_indices,
        slots,
        lost,
        corrupted,
        foreign,
        payload_id=key[0],
        packets_expected=key[1],
        errors=tuple(errors),
    )


def _rebuild(h: Header, agreeing: list[Packet]) -> tuple[Payload, torch.Tensor, torch.Tensor]:
    """The payload of header ``h`` from its packets, gaps zero-filled, and the masks."""
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
    return payload, torch.from_numpy(~row_ok), missing_indices
