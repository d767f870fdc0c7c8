"""collab_infer.reconstruct: server-side token rebuild."""

import pytest
import torch

from codec.payload import FullPayload, SubsetPayload, VQPayload
from collab_infer.reconstruct import reconstruct, reconstruct_batch
from collab_infer.reducers import make


def subset():
    v = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    return SubsetPayload(vectors=v, positions=torch.tensor([1, 3]), n_tokens=5)


class TestReconstruct:
    def test_vq_each_token_becomes_its_centroid(self):
        c = torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
        idx = torch.tensor([2, 0, 0, 1])
        out = reconstruct(VQPayload(centroids=c, indices=idx))
        assert torch.equal(out, c[idx]) and out.shape == (4, 2)

    def test_full_is_the_vectors(self):
        v = torch.randn(6, 3)
        out = reconstruct(FullPayload(vectors=v))
        assert torch.equal(out, v) and out is not v

    def test_subset_drop_keeps_original_order(self):
        out = reconstruct(subset(), subset_mode="drop")
        assert out.tolist() == [[1.0, 10.0], [3.0, 30.0]]

    def test_subset_fill_mean(self):
        out = reconstruct(subset(), subset_mode="fill", fill="mean")
        assert out.shape == (5, 2)
        assert out[[1, 3]].tolist() == [[1.0, 10.0], [3.0, 30.0]]
        assert out[[0, 2, 4]].tolist() == [[2.0, 20.0]] * 3

    def test_subset_fill_zeros(self):
        out = reconstruct(subset(), fill="zeros")
        assert out[[0, 2, 4]].abs().sum() == 0 and out[3].tolist() == [3.0, 30.0]

    def test_empty_subset_fills_zeros(self):
        p = SubsetPayload(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), n_tokens=4)
        assert torch.equal(reconstruct(p, fill="mean"), torch.zeros(4, 3))
        assert reconstruct(p, subset_mode="drop").shape == (0, 3)

    def test_keeps_dtype(self):
        p = VQPayload(torch.ones(2, 3, dtype=torch.float16), torch.tensor([0, 1]))
        assert reconstruct(p).dtype == torch.float16

    @pytest.mark.parametrize(
        ("kw", "match"),
        [({"subset_mode": "pad"}, "subset_mode must be one of"), ({"fill": "nan"}, "fill must be")],
    )
    def test_bad_options(self, kw, match):
        with pytest.raises(ValueError, match=match):
            reconstruct(subset(), **kw)

    def test_not_a_payload(self):
        with pytest.raises(TypeError, match="payload must be"):
            reconstruct(torch.zeros(3, 2))

    def test_batch(self):
        ps = [subset(), FullPayload(torch.zeros(2, 2))]
        out = reconstruct_batch(ps, subset_mode="drop")
        assert [o.shape[0] for o in out] == [2, 2]
        with pytest.raises(ValueError, match="subset_mode"):
            reconstruct_batch(ps, subset_mode="x")


class TestWithReducers:
    @pytest.mark.parametrize("name", ["full", "random", "kmeans", "topk_norm", "pool", "dpc_knn"])
    def test_full_length_sequence(self, name):
        x = torch.randn(2, 16, 4, generator=torch.Generator().manual_seed(0))
        for p, t in zip(make(name)(x, 4, seed=0, grid=(4, 4)), x, strict=True):
            out = reconstruct(p)
            assert out.shape == t.shape and bool(torch.isfinite(out).all())

    def test_kmeans_with_k_equal_n_is_lossless(self):
        x = torch.randn(1, 9, 4)
        assert torch.equal(reconstruct(make("kmeans")(x, 9, seed=0)[0]), x[0])

    def test_vq_reconstruction_error_is_the_inertia(self):
        from collab_infer import kmeans

        x = torch.randn(1, 40, 5, generator=torch.Generator().manual_seed(1))
        p = make("kmeans")(x, 6, seed=0)[0]
        err = (reconstruct(p) - x[0]).double().pow(2).sum()
        torch.testing.assert_close(err, kmeans(x[0], 6, seed=0).inertia, rtol=1e-4, atol=1e-4)
