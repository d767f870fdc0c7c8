"""Hypothesis fuzz of header fields *behind* the CRC: a valid packet or payload has
one to three of its header fields replaced (sizes, counts, ranges, type and format
bytes; boundary values around the codec's limits and random 32-bit values), then its
CRC is recomputed so the mutation reaches the decoders. Whatever comes out of
``parse_packet`` / ``reassemble`` / ``conceal`` / ``decode`` / ``decode_side_info`` /
``reconstruct``, with and without a receiver's :class:`codec.Expected`, is a result or
a :class:`PayloadError`, under a memory cap. About 250 examples, well under a minute.
"""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codec
import collab_infer.reconstruct as rec
from codec import NUMBER_FORMATS, PayloadError
from codec.header import CRC_BYTES, append_crc
from codec.reader import ByteReader, write_varint

INTERESTING = [0, 1, 2, 3, 7, 8, 127, 128, 255, 256, 4096, 65535, 65536]
INTERESTING += [2**20 - 1, 2**20, 2**20 + 1, 2**28, 2**32 - 1]
VALUES = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 2**21), st.integers(0, 2**32 - 1))
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: Memory a receiver may use for one mutated input without ``expect`` (N up to
#: MAX_TOKENS = 2**20 int64 indices plus masks and one concealed copy), and with it.
CAP_MIB, CAP_EXPECT_MIB = 64, 16
#: reconstruct's own budget without ``expect``, lowered so the fuzz stays cheap.
FUZZ_MAX_ELEMENTS = 2**16

BASE = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["vq", "subset", "full"]),
        "n": st.integers(1, 40),
        "d": st.integers(1, 12),
        "k": st.integers(1, 20),
        "fmt": st.sampled_from(NUMBER_FORMATS),
        "coding": st.sampled_from(["auto", "packed"]),
        "mtu": st.integers(48, 200),
        "seed": st.integers(0, 2**16),
    }
)
#: Which field to edit (an index, taken modulo the field count): the size and count
#: fields (packets: P 2, N 5, D 6, rows 7, start 8, count 9, parts 10; payloads: N 5,
#: D 6, rows 7) three times as often as the type, id and format bytes.
FIELD = st.sampled_from([0, 1, 3, 4, 11] + [2, 5, 6, 7, 8, 9, 10] * 3)
EDITS = st.lists(st.tuples(FIELD, VALUES), min_size=1, max_size=3)


def _split_packet(packet: bytes) -> tuple[list[tuple[str, int]], bytes]:
    """Header fields of a version-2 packet as (kind, value) with kind "u8", "id" or
    "varint", and the bytes after them (CRC excluded)."""
    r = ByteReader(packet[:-CRC_BYTES])
    fields = [("u8", r.u8("type"))]
    fields.append(("id", int.from_bytes(r.take(4, "id"), "little")))
    fields.append(("varint", r.varint("P")))
    fields += [("u8", r.u8("kind")), ("u8", r.u8("format"))]
    fields += [("varint", r.varint(name)) for name in ("N", "D", "rows", "start", "count")]
    if fields[0][1] >> 4 == 0xA:
        parts = r.varint("parts")
        fields.append(("varint", parts))
        if parts > 1:
            fields.append(("varint", r.varint("part")))
    return fields, bytes(r.data[r.pos :])


def _split_payload(data: bytes) -> tuple[list[tuple[str, int]], bytes]:
    """Header fields of an encoded payload (magic kept as two u8) and the body."""
    r = ByteReader(data[:-CRC_BYTES])
    fields = [("u8", r.u8(name)) for name in ("C", "I", "version", "type", "format")]
    fields += [("varint", r.varint(name)) for name in ("N", "D", "rows")]
    return fields, bytes(r.data[r.pos :])


def _join(fields: list[tuple[str, int]], rest: bytes, edits) -> bytes:
    """The fields with ``edits`` (index modulo the field count, new value) applied,
    re-serialised, then ``rest``, then a fresh CRC."""
    fields = list(fields)
    for index, value in edits:
        i = index % len(fields)
        kind = fields[i][0]
        fields[i] = (kind, value % 256 if kind == "u8" else value)
    out = bytearray()
    for kind, value in fields:
        if kind == "u8":
            out.append(value)
        elif kind == "id":
            out += value.to_bytes(4, "little")
        else:
            out += write_varint(value)
    return append_crc(bytes(out) + rest)


def _base(make_payload, b):
    p = make_payload(b["kind"], b["n"], b["d"], b["k"], seed=b["seed"])
    coding = b["coding"] if b["kind"] == "vq" else "auto"
    data = codec.encode(p, b["fmt"], coding)
    return p, data, codec.packetize(data, mtu=b["mtu"]), codec.Expected(b["n"], p.dim)


def _receive(packets, expect, n, d):
    """reassemble + conceal + reconstruct, as the server (expect) or a bare caller."""
    r = codec.reassemble(packets, expect=expect)  # never raises
    assert r.packets_total == len(packets)
    if r.payload is not None:  # the budget: what the slots can carry (float32 <= 8x int4)
        values = r.payload.centroids if isinstance(r.payload, codec.VQPayload) else None
        values = r.payload.vectors if values is None else values
        assert values.numel() * 4 <= 8 * len(packets) * codec.MAX_PACKET_BYTES
        assert r.payload.n_tokens <= codec.MAX_TOKENS
    if expect is not None:
        q = codec.conceal(r, expect=expect)  # matches expect by construction
        tokens = rec.reconstruct(q, expect=expect)
        assert tuple(tokens.shape) == (expect.n_tokens, expect.dim)
        return
    q = codec.conceal(r, n_tokens=n, dim=d)
    with contextlib.suppress(PayloadError):
        assert rec.reconstruct(q).numel() <= FUZZ_MAX_ELEMENTS


@pytest.fixture
def small_reconstruct_budget(monkeypatch):
    monkeypatch.setattr(rec, "MAX_ELEMENTS", FUZZ_MAX_ELEMENTS)


class TestHeaderFuzz:
    @SETTINGS
    @given(b=BASE, edits=EDITS, which=st.integers(0, 2**16), extra=st.booleans())
    def test_mutated_packet_headers(
        self, make_payload, memory_cap, small_reconstruct_budget, b, edits, which, extra
    ):
        _, _, packets, expect = _base(make_payload, b)
        j = which % len(packets)
        fields, rest = _split_packet(packets[j])
        mutated = _join(fields, rest, edits)
        # alone in as many slots as it declares packets (P, at most 64), so that only
        # the size budget, not the slot count, stands between it and an allocation
        r = ByteReader(mutated)
        r.pos = 5  # after the type byte and the payload id
        alone = [mutated, *[None] * (min(max(r.varint("P"), 1), 64) - 1)]
        damaged = list(packets)
        damaged[j] = mutated
        if extra:  # the mutated packet as a stranger among intact ones
            damaged = [*packets, mutated]
        with memory_cap(CAP_EXPECT_MIB):
            with contextlib.suppress(PayloadError):
                codec.parse_packet(mutated, expect=expect)
            _receive(damaged, expect, b["n"], expect.dim)
            _receive([mutated], expect, b["n"], expect.dim)
        with memory_cap(CAP_MIB):
            with contextlib.suppress(PayloadError):
                codec.parse_packet(mutated)
            _receive(damaged, None, b["n"], expect.dim)
            _receive(alone, None, b["n"], expect.dim)

    @SETTINGS
    @given(b=BASE, edits=EDITS, side_info=st.booleans())
    def test_mutated_payload_headers(
        self, make_payload, memory_cap, small_reconstruct_budget, b, edits, side_info
    ):
        p, data, _, expect = _base(make_payload, b)
        if side_info:
            data = codec.encode_side_info(p)
        mutated = _join(*_split_payload(data), edits)
        for e, cap in ((expect, CAP_EXPECT_MIB), (None, CAP_MIB)):
            with memory_cap(cap):
                with contextlib.suppress(PayloadError):
                    codec.decode_side_info(mutated, expect=e)
                try:
                    q = codec.decode(mutated, expect=e)
                except PayloadError:
                    continue
                with contextlib.suppress(PayloadError):
                    tokens = rec.reconstruct(q, expect=e)
                    assert tokens.numel() <= FUZZ_MAX_ELEMENTS or e is not None
