"""The receive-path budget: crafted headers with valid CRCs never make a receiver
allocate more than its budget, and every refusal is a PayloadError.

The cases are the ones found by the probe in issue #13 (before the fix: one 16-byte
packet made ``reassemble`` run 15 s and peak at 4.5 GiB; ``reconstruct`` of a crafted
fp32 payload tried to allocate 256 GiB). Each runs under a memory cap, so a regression
fails at once instead of exhausting the machine.
"""

import ast
import pathlib

import pytest
import torch

import codec
from codec import Expected, PayloadError
from codec.header import append_crc
from codec.packets import INDEX_TYPE, ROWS_TYPE
from codec.reader import write_varint
from collab_infer.reconstruct import MAX_ELEMENTS, reconstruct

FORMAT_CODE = {"fp32": 0, "fp16": 1, "int4": 4}
MODEL = Expected(n_tokens=64, dim=16)  # the receiver's model: N = 64 tokens of D = 16


def crafted_packet(
    n, d, rows, fmt="fp16", *, kind=0, p=1, pid=1, start=0, count=0, index=False, tail=b""
):
    """A packet with a valid CRC whose header declares N=n, D=d, rows, P=p."""
    body = bytes((INDEX_TYPE if index else ROWS_TYPE,)) + pid.to_bytes(4, "little")
    body += write_varint(p) + bytes((kind, FORMAT_CODE[fmt]))
    body += write_varint(n) + write_varint(d) + write_varint(rows)
    body += write_varint(start) + write_varint(count)
    body += b"" if index else write_varint(1)  # parts
    return append_crc(body + tail)


def crafted_payload(n, d, rows, fmt="fp32", kind=0):
    """An encoded payload with a valid CRC: header + rows of zero values (vq, K=1: the
    N indices cost no bytes)."""
    head = b"CI\x01" + bytes((kind, FORMAT_CODE[fmt]))
    head += write_varint(n) + write_varint(d) + write_varint(rows)
    return append_crc(head + bytes(rows * d * 4))


class TestCraftedPacket:
    def test_issue_case_huge_table_is_refused(self, memory_cap):
        # vq, int4, N = 2**20, D = 1000, K = 2**18: a 131 MB table, 1 GB as float32
        pkt = crafted_packet(2**20, 1000, 2**18, "int4")
        assert len(pkt) == 23
        with memory_cap(10):
            r = codec.reassemble([pkt])
        assert r.payload is None and r.packets_corrupted == 1
        assert "cannot fit in the P=1 packets" in r.errors[0]

    def test_with_expect_refused_before_allocating(self, memory_cap):
        pkt = crafted_packet(2**20, 16, 2)
        with memory_cap(10):
            r = codec.reassemble([pkt], expect=MODEL)
            q = codec.conceal(r, expect=MODEL)
        assert r.payload is None and r.packets_corrupted == 1
        assert "N=1048576 (expected 64)" in r.errors[0]
        assert isinstance(q, codec.FullPayload) and q.vectors.shape == (64, 16)

    @pytest.mark.parametrize(
        ("fields", "match"),
        [
            ({"n": 64, "d": 17, "rows": 2}, r"D=17 \(expected 16\)"),
            ({"n": 64, "d": 16, "rows": 65}, r"rows=65 \(at most 64\)"),
            ({"n": 64, "d": 16, "rows": 2, "fmt": "fp32"}, "number format fp32"),
        ],
    )
    def test_every_disagreeing_field_is_named(self, fields, match):
        expect = Expected(64, 16, number_formats=("fp16", "int4"))
        with pytest.raises(PayloadError, match=match):
            codec.parse_packet(crafted_packet(**fields), expect=expect)

    def test_without_expect_rows_are_bounded_by_the_slots(self, memory_cap):
        # 40 rows of 4096 fp16 values (320 KiB) cannot come in 1 packet of <= 64 KiB ...
        pkt = crafted_packet(64, 4096, 40, p=1)
        with pytest.raises(PayloadError, match="cannot fit in the P=1 packets"):
            codec.parse_packet(pkt)
        # ... but can in 6; and P may not exceed the slots handed in
        pkt = crafted_packet(64, 4096, 40, p=6)
        r = codec.reassemble([pkt])
        assert r.payload is None and "only 1 slots were handed in" in r.errors[0]
        with memory_cap(16):
            r = codec.reassemble([pkt, *[None] * 5])
        assert r.payload.centroids.shape == (40, 4096) and bool(r.missing_vectors.all())

    def test_without_expect_tokens_are_bounded_by_max_tokens(self, memory_cap):
        # K = 2 rows of D = 16 fit anywhere; N = 2**20 indices is the codec's own limit
        with memory_cap(48):
            r = codec.reassemble([crafted_packet(2**20, 16, 2)])
            q = codec.conceal(r)
        assert q.n_tokens == codec.MAX_TOKENS and bool(r.missing_indices.all())
        with pytest.raises(PayloadError, match="impossible sizes"):
            codec.parse_packet(crafted_packet(2**20 + 1, 16, 2))

    def test_index_packet_with_entropy_count_is_checked_first(self, memory_cap):
        # an index packet claiming 2**20 entropy-coded indices, refused by expect before
        # the range decoder runs
        pkt = crafted_packet(2**20, 16, 2, kind=0x04, index=True, count=2**20, tail=b"\0" * 4)
        with memory_cap(10), pytest.raises(PayloadError, match="does not match the receiver"):
            codec.parse_packet(pkt, expect=MODEL)

    def test_packet_over_max_size_is_refused(self):
        with pytest.raises(PayloadError, match="exceeds the largest packet"):
            codec.parse_packet(bytes(codec.MAX_PACKET_BYTES + 1))
        with pytest.raises(ValueError, match="exceeds the largest packet"):
            codec.packetize(codec.encode(codec.FullPayload(torch.zeros(2, 2))), mtu=70000)


class TestCraftedPayload:
    def test_reconstruct_of_the_256_gib_payload(self, memory_cap):
        # vq fp32, K = 1 row of D = 2**16, N = 2**20: 256 KiB of bytes, 256 GiB rebuilt
        data = crafted_payload(2**20, 2**16, 1)
        with pytest.raises(PayloadError, match=r"N=1048576 \(expected 64\)"):
            codec.decode(data, expect=MODEL)
        with memory_cap(40):
            p = codec.decode(data)  # the bytes carry it: 8 MiB of int64 indices
            with pytest.raises(PayloadError, match="more than MAX_ELEMENTS"):
                reconstruct(p)
            with pytest.raises(PayloadError, match="does not match the receiver"):
                reconstruct(p, expect=MODEL)

    def test_reconstruct_budget_edge(self):
        n, d = 2**10, MAX_ELEMENTS // 2**10
        p = codec.VQPayload(torch.zeros(1, d + 1), torch.zeros(n, dtype=torch.long))
        with pytest.raises(PayloadError, match="more than MAX_ELEMENTS"):
            reconstruct(p)
        small = codec.SubsetPayload(torch.zeros(1, d + 1), torch.tensor([0]), n)
        assert reconstruct(small, subset_mode="drop").shape == (1, d + 1)

    def test_side_info_with_expect(self):
        info = codec.encode_side_info(codec.VQPayload(torch.zeros(2, 16), torch.zeros(64).long()))
        # side info carries no values, so a receiver of fp16 only still reads its fp32 field
        assert codec.decode_side_info(info, expect=Expected(64, 16, ("fp16",))).rows == 2
        with pytest.raises(PayloadError, match=r"N=64 \(expected 32\)"):
            codec.decode_side_info(info, expect=Expected(32, 16))

    def test_conceal_checks_the_payload(self):
        r = codec.reassemble(codec.packetize(codec.encode(codec.FullPayload(torch.ones(8, 16)))))
        with pytest.raises(PayloadError, match=r"N=8 \(expected 64\)"):
            codec.conceal(r, expect=MODEL)
        with pytest.raises(ValueError, match=r"n_tokens must lie in \[1, 1048576\], got -1"):
            codec.conceal(codec.reassemble([None]), n_tokens=-1, dim=4)


class TestExpected:
    def test_defaults(self):
        e = Expected(256, 2048)
        assert e.max_rows == 256 and e.number_formats == codec.NUMBER_FORMATS

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"n_tokens": 0, "dim": 4}, ValueError, r"n_tokens must lie in \[1, "),
            ({"n_tokens": True, "dim": 4}, TypeError, "n_tokens must be an int"),
            ({"n_tokens": 4, "dim": 2**21}, ValueError, "dim must lie in"),
            ({"n_tokens": 4, "dim": 4, "number_formats": ("fp12",)}, ValueError, "fp12"),
            ({"n_tokens": 4, "dim": 4, "number_formats": "fp16"}, TypeError, "tuple of names"),
            ({"n_tokens": 4, "dim": 4, "kinds": ()}, ValueError, "non-empty subset"),
        ],
    )
    def test_bad_fields(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            Expected(**kwargs)


class TestPayloadIdentity:
    def _two(self, make_payload):
        a = codec.encode(make_payload("vq", 20, 8, 4, seed=0))
        b = codec.encode(make_payload("vq", 20, 8, 4, seed=1))  # same shape and format
        return a, b, codec.packetize(a, mtu=45), codec.packetize(b, mtu=45)

    def test_packets_of_another_payload_never_merge(self, make_payload):
        a, b, pa, pb = self._two(make_payload)
        assert len(pa) == len(pb) == 5  # 4 rows packets + 1 index packet each
        # a's first 3 slots from a, the last 2 from b: before packet version 2 this
        # merged into one "complete" payload made of both
        r = codec.reassemble(pa[:3] + pb[3:])
        assert (r.packets_foreign, r.packets_corrupted, r.packets_expected) == (2, 0, 5)
        assert r.payload_id == int.from_bytes(a[-4:], "little")
        truth = codec.decode(a)
        rows_ok = ~r.missing_vectors
        assert bool(rows_ok.any()) and not bool(rows_ok.all())
        assert torch.equal(r.payload.centroids[rows_ok], truth.centroids[rows_ok])
        assert bool(r.missing_indices.all())  # a's index packet was one of the foreign slots

    def test_receiver_can_ask_for_one_payload(self, make_payload):
        a, b, pa, pb = self._two(make_payload)
        wanted = int.from_bytes(b[-4:], "little")
        r = codec.reassemble(pa[:3] + pb[3:], payload_id=wanted)
        assert r.payload_id == wanted and r.packets_foreign == 3
        with pytest.raises(ValueError, match=r"payload_id must lie in \[0, 2\*\*32\)"):
            codec.reassemble(pa, payload_id=2**32)

    def test_caller_given_ids_separate_identical_bytes(self, make_payload):
        a, _, _, _ = self._two(make_payload)
        one, two = (
            codec.packetize(a, mtu=45, payload_id=1),
            codec.packetize(a, mtu=45, payload_id=2),
        )
        r = codec.reassemble(one[:4] + two[4:])
        assert (r.payload_id, r.packets_foreign) == (1, 1)

    def test_identity_travels_in_every_packet(self, make_payload):
        a, _, pa, _ = self._two(make_payload)
        # byte 0 type, bytes 1-4 the payload id (its CRC-32), byte 5 P: real bytes,
        # counted in len(packet) * 8 like every other
        assert all(p[1:5] == a[-4:] and p[5] == len(pa) for p in pa)


class TestLayering:
    def test_codec_imports_nothing_above_it(self):
        root = pathlib.Path(codec.__file__).parent
        for path in root.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top not in ("collab_infer", "channel", "experiments"), (path, name)

    def test_payload_error_is_the_suites_error(self):
        from collab_infer.errors import CollabInferError

        assert issubclass(PayloadError, CollabInferError) and issubclass(PayloadError, ValueError)
        with pytest.raises(CollabInferError):
            codec.decode(b"nonsense bytes")
