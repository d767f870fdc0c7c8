import pytest
import torch

import codec
from codec import PayloadError


def _lose(data, mtu, lost_rows):
    """Reassemble after losing every packet carrying one of ``lost_rows``."""
    packets = codec.packetize(data, mtu=mtu)
    kept = []
    for p in packets:
        q = codec.parse_packet(p)
        hit = q.section == "rows" and any(q.start <= r < q.start + q.count for r in lost_rows)
        kept.append(None if hit else p)
    return codec.reassemble(kept), packets


class TestConceal:
    def test_lost_centroid_becomes_mean_of_received(self):
        centroids = torch.tensor([[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]])
        p = codec.VQPayload(centroids, torch.tensor([0, 1, 2, 2]))
        data = codec.encode(p, "fp32")
        r, _ = _lose(data, mtu=24, lost_rows={2})
        assert r.missing_vectors.tolist() == [False, False, True]
        q = codec.conceal(r)
        assert q.centroids[2].tolist() == [2.0, 3.0]
        assert codec.conceal(r, vector_fill="zeros").centroids[2].tolist() == [0.0, 0.0]

    def test_lost_indices_mode_and_neighbor(self):
        idx = torch.tensor([1] * 10 + [2] * 3 + [0] * 30)
        missing = torch.zeros(43, dtype=torch.bool)
        missing[8:12] = True
        seen = idx.clone()
        seen[missing] = 0  # what reassemble leaves in lost slots
        r = codec.Reassembled(
            codec.VQPayload(torch.randn(3, 2), seen), torch.zeros(3, dtype=torch.bool), missing
        )
        mode = codec.conceal(r, index_fill="mode").indices
        assert mode[8:12].tolist() == [0] * 4  # 0 is the most frequent received index
        neighbor = codec.conceal(r, index_fill="neighbor").indices
        assert neighbor[8:12].tolist() == [1] * 4  # token 7's index
        assert torch.equal(mode[~missing], idx[~missing])

    def test_lost_index_packet_is_concealed(self):
        idx = torch.tensor([1, 1, 1, 2] * 50)
        data = codec.encode(codec.VQPayload(torch.randn(3, 2), idx), "fp32")
        packets = codec.packetize(data, mtu=30)
        info = [codec.parse_packet(x) for x in packets]
        lost = next(i for i, q in enumerate(info) if q.section == "indices")
        packets[lost] = None
        r = codec.reassemble(packets)
        lo, hi = info[lost].start, info[lost].start + info[lost].count
        assert r.missing_indices.nonzero().ravel().tolist() == list(range(lo, hi))
        assert bool((codec.conceal(r).indices[lo:hi] == 1).all())

    def test_leading_indices_lost_take_next_neighbor(self):
        re = codec.Reassembled(
            codec.VQPayload(torch.zeros(3, 1), torch.tensor([0, 0, 2, 1])),
            torch.zeros(3, dtype=torch.bool),
            torch.tensor([True, True, False, False]),
        )
        assert codec.conceal(re, index_fill="neighbor").indices.tolist() == [2, 2, 2, 1]

    def test_subset_drop_or_fill(self):
        p = codec.SubsetPayload(torch.tensor([[1.0], [2.0], [6.0]]), torch.tensor([0, 3, 5]), 8)
        r, _ = _lose(codec.encode(p, "fp32"), mtu=21, lost_rows={1})
        assert r.missing_vectors.tolist() == [False, True, False]
        dropped = codec.conceal(r)
        assert dropped.positions.tolist() == [0, 5] and dropped.vectors.ravel().tolist() == [
            1.0,
            6.0,
        ]
        filled = codec.conceal(r, subset_lost="fill")
        assert filled.k == 3 and filled.vectors.ravel().tolist() == [1.0, 3.5, 6.0]

    def test_full_vectors(self):
        p = codec.FullPayload(torch.tensor([[2.0], [4.0], [9.0]]))
        r, _ = _lose(codec.encode(p, "fp32"), mtu=21, lost_rows={2})
        assert codec.conceal(r).vectors.ravel().tolist() == [2.0, 4.0, 3.0]

    def test_nothing_arrived(self):
        r = codec.reassemble([None, None])
        with pytest.raises(
            PayloadError,
            match=r"pass expect=codec.Expected\(n_tokens, dim\) \(or n_tokens and dim\)",
        ):
            codec.conceal(r)
        q = codec.conceal(r, n_tokens=5, dim=3)
        assert isinstance(q, codec.FullPayload) and q.vectors.shape == (5, 3)

    @pytest.mark.parametrize("kind", ["vq", "subset", "full"])
    def test_never_crashes_whatever_is_lost(self, make_payload, kind):
        data = codec.encode(make_payload(kind, 30, 12, 6, seed=1), "int4")
        packets = codec.packetize(data, mtu=40)
        gen = torch.Generator().manual_seed(1)
        for rate in (0.0, 0.2, 0.5, 0.9, 1.0):
            for _ in range(5):
                lost = torch.rand(len(packets), generator=gen) < rate
                r = codec.reassemble([None if x else p for p, x in zip(packets, lost, strict=True)])
                for vf in codec.VECTOR_FILLS:
                    for xf in codec.INDEX_FILLS:
                        for sl in codec.SUBSET_LOST:
                            q = codec.conceal(r, vf, xf, sl, n_tokens=30, dim=12)
                            assert isinstance(
                                q, codec.FullPayload | codec.VQPayload | codec.SubsetPayload
                            )

    def test_unknown_choice(self):
        r = codec.reassemble([None])
        with pytest.raises(ValueError, match="index_fill must be one of mode, neighbor"):
            codec.conceal(r, index_fill="nearest")
