import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import codec
from codec import NUMBER_FORMATS, PayloadError


def _values(p):
    return p.centroids if isinstance(p, codec.VQPayload) else p.vectors


def _same(a, b):
    assert codec.payload_kind(a) == codec.payload_kind(b)
    assert torch.equal(_values(a), _values(b))
    if isinstance(a, codec.VQPayload):
        assert torch.equal(a.indices, b.indices)
    if isinstance(a, codec.SubsetPayload):
        assert torch.equal(a.positions, b.positions) and a.n_tokens == b.n_tokens


class TestPacketize:
    @settings(max_examples=50, deadline=None)
    @given(
        kind=st.sampled_from(["vq", "subset", "full"]),
        n=st.integers(1, 60),
        d=st.integers(1, 40),
        k=st.integers(1, 20),
        fmt=st.sampled_from(NUMBER_FORMATS),
        mtu=st.integers(40, 400),
        seed=st.integers(0, 2**31),
    )
    def test_lossless_round_trip(self, make_payload, kind, n, d, k, fmt, mtu, seed):
        data = codec.encode(make_payload(kind, n, d, k, seed), fmt)
        packets = codec.packetize(data, mtu=mtu)
        assert all(len(p) <= mtu for p in packets)
        random.Random(seed).shuffle(packets)  # order does not matter
        r = codec.reassemble(packets)
        _same(r.payload, codec.decode(data))
        assert not r.missing_vectors.any() and not r.missing_indices.any()
        assert (r.packets_total, r.packets_lost, r.packets_corrupted) == (len(packets), 0, 0)

    def test_paligemma_overhead_is_small(self, make_payload):
        data = codec.encode(make_payload("vq", 256, 2048, 8, seed=0), "fp16")
        packets = codec.packetize(data)
        total = sum(len(p) for p in packets)
        assert all(len(p) <= 1400 for p in packets)
        assert len(packets) == 25  # 8 rows of 4096 bytes in 3 fragments each + 1 index packet
        assert total - len(data) < 0.016 * len(data)  # 20-21 bytes per packet

    def test_rows_spread_evenly(self, make_payload):
        data = codec.encode(make_payload("vq", 64, 16, 32, seed=0), "fp16")
        rows = [codec.parse_packet(p) for p in codec.packetize(data, mtu=200)]
        counts = [p.count for p in rows if p.section == "rows"]
        assert max(counts) - min(counts) <= 1 and sum(counts) == 32

    def test_mtu_too_small_names_minimum(self, make_payload):
        data = codec.encode(make_payload("vq", 50, 8, 4, seed=0), "fp16")
        with pytest.raises(
            ValueError, match=r"mtu=10 is too small for this payload: use mtu >= (\d+)"
        ) as info:
            codec.packetize(data, mtu=10)
        minimum = int(info.value.args[0].rsplit(" ", 1)[1])
        packets = codec.packetize(data, mtu=minimum)
        assert all(len(p) <= minimum for p in packets)
        _same(codec.reassemble(packets).payload, codec.decode(data))
        with pytest.raises(ValueError, match="too small"):
            codec.packetize(data, mtu=minimum - 1)

    def test_entropy_coded_index_packets(self):
        idx = torch.cat([torch.zeros(300, dtype=torch.long), torch.arange(16)])
        data = codec.encode(codec.VQPayload(torch.randn(16, 4), idx), "fp16")
        assert data[3] & 0x04
        index_packets = [codec.parse_packet(p) for p in codec.packetize(data)]
        index_packets = [p for p in index_packets if p.section == "indices"]
        assert len(index_packets) == 1 and index_packets[0].header.entropy
        assert torch.equal(codec.reassemble(codec.packetize(data)).payload.indices, idx)

    def test_empty_subset_gets_one_packet(self):
        s = codec.SubsetPayload(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 9)
        packets = codec.packetize(codec.encode(s))
        assert len(packets) == 1
        r = codec.reassemble(packets)
        assert r.payload.k == 0 and r.payload.n_tokens == 9

    def test_rejects_bad_input(self):
        with pytest.raises(PayloadError):
            codec.packetize(b"garbage")
        with pytest.raises(TypeError, match="mtu must be an int"):
            codec.packetize(b"", mtu=1400.0)


class TestLoss:
    @pytest.mark.parametrize("kind", ["vq", "full", "subset"])
    @pytest.mark.parametrize("mtu", [60, 150, 1400])
    def test_each_lost_packet_costs_exactly_its_part(self, make_payload, kind, mtu):
        p = make_payload(kind, 40, 24, 12, seed=5)
        data = codec.encode(p, "int8")
        full = codec.decode(data)
        packets = codec.packetize(data, mtu=mtu)
        for i, pk in enumerate(packets):
            info = codec.parse_packet(pk)
            damaged = list(packets)
            damaged[i] = None
            r = codec.reassemble(damaged)
            if len(packets) == 1:
                assert r.payload is None
                continue
            expected_rows = torch.zeros(full_rows(full), dtype=torch.bool)
            expected_idx = torch.zeros(40, dtype=torch.bool)
            if info.section == "rows":
                expected_rows[info.start : info.start + info.count] = True
            else:
                expected_idx[info.start : info.start + info.count] = True
            assert torch.equal(r.missing_vectors, expected_rows)
            kept = ~expected_rows
            assert torch.equal(_values(r.payload)[kept], _values(full)[kept])
            assert bool((_values(r.payload)[expected_rows] == 0).all())  # zero-filled
            if kind == "vq":
                assert torch.equal(r.missing_indices, expected_idx)
                assert torch.equal(r.payload.indices[~expected_idx], full.indices[~expected_idx])
            if kind == "full":
                assert not r.missing_indices.any()

    def test_subset_lost_positions_marked_as_gap(self):
        p = codec.SubsetPayload(torch.randn(5, 64), torch.tensor([2, 10, 11, 30, 39]), 40)
        packets = codec.packetize(codec.encode(p, "fp32"), mtu=300)  # one row per packet
        assert len(packets) == 5
        packets[1] = None  # row 1 (position 10) lost: it must lie in (2, 11)
        r = codec.reassemble(packets)
        assert r.missing_vectors.tolist() == [False, True, False, False, False]
        assert r.missing_indices.nonzero().ravel().tolist() == list(range(3, 11))
        assert r.payload.positions.tolist()[0] == 2 and 2 < r.payload.positions[1] < 11

    def test_subset_position_survives_in_other_fragment(self):
        p = codec.SubsetPayload(torch.randn(2, 64), torch.tensor([4, 7]), 9)
        packets = codec.packetize(codec.encode(p, "fp32"), mtu=100)  # rows in fragments
        assert len(packets) > 2
        packets[0] = None
        r = codec.reassemble(packets)
        assert r.missing_vectors.tolist() == [True, False]
        assert r.payload.positions.tolist() == [4, 7] and not r.missing_indices.any()

    def test_corrupted_packet_counts_as_lost(self, make_payload):
        packets = codec.packetize(codec.encode(make_payload("vq", 20, 8, 4, seed=0)), mtu=40)
        bad = bytearray(packets[0])
        bad[len(bad) // 2] ^= 0x10
        packets[0] = bytes(bad)
        r = codec.reassemble(packets)
        assert r.packets_corrupted == 1 and r.missing_vectors.sum() >= 1

    def test_everything_lost(self, make_payload):
        packets = codec.packetize(codec.encode(make_payload("vq", 20, 8, 4, seed=0)))
        r = codec.reassemble([None] * len(packets))
        assert r.payload is None and r.packets_lost == len(packets)
        assert r.missing_vectors.numel() == 0

    def test_index_loss_with_k1_costs_nothing(self):
        p = codec.VQPayload(torch.randn(1, 4), torch.zeros(30, dtype=torch.long))
        packets = codec.packetize(codec.encode(p))
        assert len(packets) == 1  # K = 1: no index packet
        assert not codec.reassemble(packets).missing_indices.any()

    def test_majority_payload_wins(self, make_payload):
        a = codec.packetize(codec.encode(make_payload("vq", 20, 8, 4, seed=0)), mtu=45)
        b = codec.packetize(codec.encode(make_payload("vq", 21, 8, 4, seed=1)), mtu=45)
        r = codec.reassemble(a + b[:1])
        assert r.payload.n_tokens == 20 and (r.packets_corrupted, r.packets_foreign) == (0, 1)

    def test_masks_with_random_loss(self, make_payload):
        p = make_payload("vq", 256, 64, 16, seed=3)
        data = codec.encode(p, "fp16")
        packets = codec.packetize(data, mtu=300)
        gen = torch.Generator().manual_seed(0)
        for _ in range(20):
            lost = torch.rand(len(packets), generator=gen) < 0.3
            r = codec.reassemble([None if x else pk for pk, x in zip(packets, lost, strict=True)])
            parts = [codec.parse_packet(pk) for pk, x in zip(packets, lost, strict=True) if x]
            rows = sum(q.count for q in parts if q.section == "rows")
            idx = sum(q.count for q in parts if q.section == "indices")
            assert int(r.missing_vectors.sum()) == rows
            assert int(r.missing_indices.sum()) == idx
            assert r.packets_lost == int(lost.sum())


def full_rows(p):
    return _values(p).shape[0]


class TestParsePacket:
    def test_rejects_payload_bytes(self, make_payload):
        with pytest.raises(PayloadError, match="unknown packet type"):
            codec.parse_packet(codec.encode(make_payload("vq", 4, 2, 2, seed=0)))

    def test_rejects_non_bytes(self):
        with pytest.raises(PayloadError, match="packet must be bytes"):
            codec.parse_packet(12)
