import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import codec
from codec import INDEX_CODINGS, NUMBER_FORMATS, PayloadError
from codec.bitpack import bits_for
from codec.header import append_crc

TOL = {  # max |error| / max|x| per format (see test_formats.py for the per-value bounds)
    "fp32": 0.0,
    "fp16": 2**-11,
    "bf16": 2**-8,
    "int8": 1 / 254 * (1 + 2**-7),
    "int4": 1 / 14 * (1 + 2**-7),
    "fp8": 2**-4,
}


def _values(p):
    return p.centroids if isinstance(p, codec.VQPayload) else p.vectors


class TestRoundTrip:
    @settings(max_examples=80, deadline=None)
    @given(
        kind=st.sampled_from(["vq", "subset", "full"]),
        n=st.integers(0, 40),
        d=st.integers(1, 24),
        k=st.integers(1, 20),
        fmt=st.sampled_from(NUMBER_FORMATS),
        coding=st.sampled_from(["auto", "packed"]),
        seed=st.integers(0, 2**31),
    )
    def test_round_trip(self, make_payload, kind, n, d, k, fmt, coding, seed):
        if kind == "subset":
            n = max(n, 1)
        p = make_payload(kind, n, d, k, seed, scale=3.0)
        data = codec.encode(p, number_format=fmt, index_coding=coding)
        q = codec.decode(data)
        assert codec.payload_kind(q) == kind
        x, y = _values(p), _values(q)
        assert y.shape == x.shape and y.dtype == torch.float32
        if fmt == "fp32":
            assert torch.equal(x, y)
        elif x.numel():
            assert float((x - y).abs().max()) <= TOL[fmt] * float(x.abs().max()) + 1e-6
        if kind == "vq":
            assert torch.equal(q.indices, p.indices)
        if kind == "subset":
            assert torch.equal(q.positions, p.positions) and q.n_tokens == p.n_tokens

    @pytest.mark.parametrize("fmt", NUMBER_FORMATS)
    def test_bit_count_is_exact_information(self, make_payload, fmt):
        p = make_payload("vq", 256, 64, 8, seed=1)
        data = codec.encode(p, number_format=fmt, index_coding="packed")
        f = codec.get_format(fmt)
        scale_bytes = 2 * 8 if f.scaled else 0
        header_and_crc = 9 + 4  # magic 2, version, type, format, N=256 (2), D=64, K=8; CRC
        expected = 8 * 64 * f.bits_per_value // 8 + scale_bytes + 256 * 3 // 8 + header_and_crc
        assert len(data) == expected

    @pytest.mark.parametrize(
        ("k", "index_bytes"), [(1, 0), (2, 4), (3, 8), (4, 8), (5, 12), (256, 32)]
    )
    def test_index_bits_ceil_log2(self, make_payload, k, index_bytes):
        p = make_payload("vq", 32, 2, k, seed=0)
        base = len(codec.encode(codec.VQPayload(p.centroids, p.indices[:0]), "fp32", "packed"))
        assert len(codec.encode(p, "fp32", "packed")) - base == index_bytes == 32 * bits_for(k) // 8

    def test_subset_positions_pick_smaller_layout(self):
        vecs = torch.zeros(2, 1)
        sparse = codec.SubsetPayload(vecs, torch.tensor([3, 900]), 1024)  # 2*10 bits < 1024 bits
        dense = codec.SubsetPayload(torch.zeros(200, 1), torch.arange(200) * 5, 1024)
        assert codec.encode(sparse)[3] & 0x08 == 0
        assert codec.encode(dense)[3] & 0x08 == 0x08
        for p in (sparse, dense):
            assert torch.equal(codec.decode(codec.encode(p)).positions, p.positions)

    def test_empty_subset_and_empty_vq(self):
        s = codec.SubsetPayload(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 7)
        assert codec.decode(codec.encode(s)).k == 0
        v = codec.VQPayload(torch.ones(3, 2), torch.zeros(0, dtype=torch.long))
        assert codec.decode(codec.encode(v, index_coding="entropy")).n_tokens == 0


class TestEntropyChoice:
    def test_skewed_indices_use_entropy_and_are_smaller(self):
        idx = torch.cat([torch.zeros(240, dtype=torch.long), torch.arange(16)])
        p = codec.VQPayload(torch.randn(16, 8), idx)
        auto = codec.encode(p, "fp16", "auto")
        packed = codec.encode(p, "fp16", "packed")
        assert auto[3] & 0x04 and not packed[3] & 0x04
        assert len(auto) < len(packed)
        assert torch.equal(codec.decode(auto).indices, idx)

    def test_uniform_indices_stay_packed_under_auto(self, make_payload):
        p = make_payload("vq", 256, 4, 8, seed=3)
        auto = codec.encode(p, "fp16", "auto")
        forced = codec.encode(p, "fp16", "entropy")
        assert not auto[3] & 0x04 and forced[3] & 0x04
        assert len(auto) <= len(forced)
        assert auto == codec.encode(p, "fp16", "packed")
        assert torch.equal(codec.decode(forced).indices, p.indices)

    @settings(max_examples=30, deadline=None)
    @given(
        k=st.integers(2, 40),
        n=st.integers(1, 300),
        skew=st.floats(0.0, 4.0),
        seed=st.integers(0, 2**31),
    )
    def test_auto_is_never_larger(self, k, n, skew, seed):
        g = torch.Generator().manual_seed(seed)
        probs = torch.softmax(torch.randn(k, generator=g) * skew, 0)
        idx = torch.multinomial(probs, n, replacement=True, generator=g)
        p = codec.VQPayload(torch.zeros(k, 1), idx)
        sizes = {c: len(codec.encode(p, "fp32", c)) for c in INDEX_CODINGS}
        assert sizes["auto"] == min(sizes.values())
        assert torch.equal(codec.decode(codec.encode(p, "fp32", "entropy")).indices, idx)


class TestSideInfo:
    @pytest.mark.parametrize("kind", ["vq", "subset", "full"])
    def test_round_trip_without_values(self, make_payload, kind):
        p = make_payload(kind, 30, 16, 5, seed=2)
        side = codec.encode_side_info(p)
        assert len(side) < 40
        info = codec.decode_side_info(side)
        assert (info.kind, info.n_tokens, info.dim) == (kind, 30, 16)
        q = info.with_vectors(_values(p))
        assert torch.equal(_values(q), _values(p))
        if kind == "vq":
            assert torch.equal(q.indices, p.indices)
        if kind == "subset":
            assert torch.equal(q.positions, p.positions)

    def test_side_info_is_not_a_payload(self, make_payload):
        p = make_payload("vq", 8, 4, 3, seed=0)
        with pytest.raises(PayloadError, match="use decode_side_info"):
            codec.decode(codec.encode_side_info(p))
        with pytest.raises(PayloadError, match="use decode"):
            codec.decode_side_info(codec.encode(p))

    def test_with_vectors_shape(self, make_payload):
        info = codec.decode_side_info(codec.encode_side_info(make_payload("vq", 8, 4, 3, seed=0)))
        with pytest.raises(ValueError, match=r"vectors must have shape \(3, 4\)"):
            info.with_vectors(torch.zeros(2, 4))


class TestEncodeErrors:
    def test_unknown_format(self, make_payload):
        with pytest.raises(ValueError, match="number_format must be one of fp32, fp16"):
            codec.encode(make_payload("vq", 4, 2, 2, 0), number_format="float16")

    def test_unknown_index_coding(self, make_payload):
        with pytest.raises(ValueError, match="index_coding must be one of auto, packed, entropy"):
            codec.encode(make_payload("vq", 4, 2, 2, 0), index_coding="huffman")

    def test_entropy_only_for_vq(self, make_payload):
        with pytest.raises(ValueError, match="applies to VQ payloads only"):
            codec.encode(make_payload("subset", 4, 2, 2, 0), index_coding="entropy")

    def test_not_a_payload(self):
        with pytest.raises(TypeError, match="not a payload"):
            codec.encode(torch.zeros(3, 3))

    def test_zero_dim(self):
        with pytest.raises(ValueError, match="D >= 1"):
            codec.encode(codec.FullPayload(torch.zeros(3, 0)))


class TestDecodeErrors:
    @pytest.fixture
    def data(self, make_payload):
        return codec.encode(make_payload("vq", 16, 4, 5, seed=0), "int8")

    def test_truncated(self, data):
        for cut in (0, 3, 8, len(data) - 1):
            with pytest.raises(PayloadError):
                codec.decode(data[:cut])

    def test_wrong_magic(self, data):
        with pytest.raises(PayloadError, match="wrong magic"):
            codec.decode(b"XX" + data[2:])

    def test_wrong_version(self, data):
        with pytest.raises(PayloadError, match="unsupported version 2"):
            codec.decode(data[:2] + b"\x02" + data[3:])

    def test_crc_mismatch(self, data):
        bad = bytearray(data)
        bad[12] ^= 0x01
        with pytest.raises(PayloadError, match="CRC mismatch"):
            codec.decode(bytes(bad))

    def test_out_of_range_index(self):
        # K=3 packs at 2 bits, so index 3 is representable but invalid
        body = b"CI\x01\x00\x00\x02\x01\x03" + b"\0" * 12 + bytes([0b1100])
        with pytest.raises(PayloadError, match=r"index 3 out of range \[0, 3\)"):
            codec.decode(append_crc(body))

    def test_impossible_sizes_before_allocating(self):
        # N = D = K = 2**32 - 1: refused from the header alone
        huge = b"\xff\xff\xff\xff\x0f"
        with pytest.raises(PayloadError, match="impossible sizes"):
            codec.decode(append_crc(b"CI\x01\x00\x00" + huge * 3))
        # full N=1024, D=128, rows=1024 fp32: within limits but not backed by bytes
        with pytest.raises(PayloadError, match="vector values needs 524288 bytes, 0 left"):
            codec.decode(append_crc(b"CI\x01\x02\x00\x80\x08\x80\x01\x80\x08"))

    def test_trailing_bytes(self, data):
        with pytest.raises(PayloadError, match="trailing"):
            codec.decode(append_crc(data[:-4] + b"\x00"))

    def test_not_bytes(self):
        with pytest.raises(TypeError, match="data must be bytes"):
            codec.decode("CI")
