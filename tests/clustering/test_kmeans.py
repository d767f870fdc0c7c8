"""collab_infer.kmeans: batched greedy k-means++ + Lloyd (Gram and coordinate paths)."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import collab_infer
from collab_infer.clustering import KMeansResult, gram_matrix, kmeans, sq_distances
from collab_infer.clustering.lloyd import lloyd_direct, lloyd_gram

METHODS = ["gram", "direct"]


def blobs(batch: int, n: int, dim: int, n_clusters: int, *, spread: float = 10.0, seed: int = 0):
    """[B, N, D] points around n_clusters well-separated centres, and their labels [B, N]."""
    g = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(batch, n_clusters, dim, generator=g)
    labels = torch.arange(n).remainder(n_clusters).expand(batch, n)
    x = centres.gather(1, labels.unsqueeze(-1).expand(batch, n, dim)) + torch.randn(
        batch, n, dim, generator=g
    )
    return x, labels


def recomputed_inertia(x: torch.Tensor, r: KMeansResult) -> torch.Tensor:
    own = r.centroids.gather(-2, r.indices.unsqueeze(-1).expand_as(x))
    return (x - own).double().pow(2).sum((-2, -1))


class TestKMeans:
    @pytest.mark.parametrize("method", METHODS)
    def test_shapes_and_types(self, method):
        x, _ = blobs(3, 40, 8, 4)
        r = kmeans(x, 4, seed=0, method=method)
        assert r.centroids.shape == (3, 4, 8) and r.centroids.dtype == x.dtype
        assert r.indices.shape == (3, 40) and r.indices.dtype == torch.int64
        assert r.inertia.shape == (3,) and r.inertia.dtype == torch.float64
        assert r.n_iter.shape == (3,) and bool((r.n_iter >= 1).all())
        assert r.k == 4
        single = kmeans(x[0], 4, seed=0, method=method)
        assert single.centroids.shape == (4, 8) and single.indices.shape == (40,)
        assert single.inertia.dim() == 0

    @pytest.mark.parametrize("method", METHODS)
    def test_deterministic_for_a_seed(self, method):
        x = torch.randn(4, 30, 6, generator=torch.Generator().manual_seed(1))
        a = kmeans(x, 5, seed=7, method=method)
        b = kmeans(x, 5, seed=7, method=method)
        assert torch.equal(a.centroids, b.centroids) and torch.equal(a.indices, b.indices)
        assert torch.equal(a.inertia, b.inertia)

    def test_seed_changes_initialisation(self):
        x = torch.randn(1, 60, 4, generator=torch.Generator().manual_seed(2))
        runs = {tuple(kmeans(x, 6, seed=s).indices[0].tolist()) for s in range(6)}
        assert len(runs) > 1

    @pytest.mark.parametrize("method", METHODS)
    def test_batched_equals_per_item(self, method):
        x = torch.randn(5, 50, 12, generator=torch.Generator().manual_seed(3))
        r = kmeans(x, 6, seed=11, method=method, n_init=2)
        for b in range(5):
            rb = kmeans(x[b], 6, seed=11, method=method, n_init=2)
            assert torch.equal(rb.indices, r.indices[b])
            torch.testing.assert_close(rb.centroids, r.centroids[b])
            torch.testing.assert_close(rb.inertia, r.inertia[b])

    def test_per_item_seeds(self):
        x = torch.randn(3, 40, 5, generator=torch.Generator().manual_seed(4))
        r = kmeans(x, 4, seed=[5, 6, 7])
        for b, s in enumerate([5, 6, 7]):
            assert torch.equal(kmeans(x[b], 4, seed=s).indices, r.indices[b])

    def test_gram_and_direct_agree(self):
        x, _ = blobs(4, 64, 32, 5)
        a = kmeans(x, 5, seed=0, method="gram")
        b = kmeans(x, 5, seed=0, method="direct")
        assert torch.equal(a.indices, b.indices)
        torch.testing.assert_close(a.centroids, b.centroids, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(a.inertia, b.inertia, rtol=1e-4, atol=1e-3)

    @pytest.mark.parametrize("method", METHODS)
    def test_indices_are_nearest_and_inertia_consistent(self, method):
        x = torch.randn(3, 50, 7, generator=torch.Generator().manual_seed(5)) * 3 + 100
        r = kmeans(x, 4, seed=0, method=method)
        d = sq_distances(x.double(), r.centroids.double())  # [B, N, K]
        chosen = d.gather(-1, r.indices.unsqueeze(-1))[..., 0]
        assert bool((chosen <= d.amin(-1) + 1e-6 * d.amax()).all())
        torch.testing.assert_close(r.inertia, recomputed_inertia(x, r), rtol=1e-4, atol=1e-3)

    @pytest.mark.parametrize("offset", [0.0, 1e3, 1e4])
    def test_large_common_offset_keeps_precision(self, offset):
        x, labels = blobs(2, 64, 32, 4, spread=3.0)
        x = x + offset * torch.randn(32, generator=torch.Generator().manual_seed(1))
        r = kmeans(x, 4, seed=0, method="gram")
        torch.testing.assert_close(r.inertia, recomputed_inertia(x, r), rtol=1e-4, atol=1e-2)
        assert adjusted_rand_score(labels[0].numpy(), r.indices[0].numpy()) == 1.0

    @pytest.mark.parametrize("method", METHODS)
    def test_recovers_planted_clusters(self, method):
        x, labels = blobs(3, 90, 16, 6, spread=20.0)
        r = kmeans(x, 6, seed=0, method=method, n_init=3)
        for b in range(3):
            assert adjusted_rand_score(labels[b].numpy(), r.indices[b].numpy()) == 1.0

    @pytest.mark.parametrize("k", [3, 8])
    def test_inertia_close_to_sklearn(self, k):
        x, _ = blobs(6, 80, 10, 5, spread=3.0, seed=9)
        r = kmeans(x, k, seed=0)
        sk = [
            KMeans(k, init="k-means++", n_init=1, random_state=s).fit(x[b].numpy()).inertia_
            for b in range(6)
            for s in range(3)
        ]
        ratio = r.inertia.mean().item() / float(np.mean(sk))
        assert ratio < 1.03

    @pytest.mark.parametrize("k", [10, 12, 50])
    def test_k_at_least_n_gives_each_point_its_centroid(self, k):
        x = torch.randn(2, 10, 3, generator=torch.Generator().manual_seed(6))
        r = kmeans(x, k, seed=0)
        assert r.k == 10
        assert torch.equal(r.centroids, x)
        assert torch.equal(r.indices, torch.arange(10).expand(2, 10))
        assert torch.equal(r.inertia, torch.zeros(2, dtype=torch.float64))

    @pytest.mark.parametrize("method", METHODS)
    def test_duplicate_points(self, method):
        base = torch.tensor([[0.0, 0.0], [5.0, 5.0], [9.0, -3.0]])
        x = base[torch.arange(30) % 3].unsqueeze(0).repeat(2, 1, 1)  # 3 distinct points
        r = kmeans(x, 5, seed=0, method=method)
        assert bool(torch.isfinite(r.centroids).all())
        assert bool(((r.indices >= 0) & (r.indices < 5)).all())
        assert r.inertia.abs().max().item() < 1e-3
        # every centroid is one of the distinct points
        assert sq_distances(r.centroids, base.expand(2, 3, 2)).amin(-1).max().item() < 1e-4

    @pytest.mark.parametrize("method", METHODS)
    def test_all_points_identical(self, method):
        x = torch.full((1, 20, 4), 3.0)
        r = kmeans(x, 4, seed=0, method=method)
        assert bool(torch.isfinite(r.centroids).all())
        torch.testing.assert_close(r.centroids, torch.full((1, 4, 4), 3.0))
        assert r.inertia.item() == pytest.approx(0.0, abs=1e-4)

    def test_empty_cluster_reseeded_on_farthest_point_gram(self):
        x = torch.tensor([[0.0], [1.0], [2.0], [10.0]]).unsqueeze(0)  # [1, 4, 1]
        xc = x - x.mean(1, keepdim=True)
        gram = gram_matrix(xc)
        # two centroids on point 0 (duplicates): cluster 1 comes out empty
        a0 = torch.zeros(1, 2, 4)
        a0[0, :, 0] = 1.0
        a, labels, seeded, _ = lloyd_gram(gram, a0, torch.zeros(1), max_iter=1)
        assert seeded[0].tolist() == [-1, 3]  # re-seeded on the farthest point (10)
        assert a[0, 1].tolist() == [0.0, 0.0, 0.0, 1.0]
        assert bool(torch.isfinite(a).all())

    def test_empty_cluster_reseeded_on_farthest_point_direct(self):
        x = torch.tensor([[0.0], [1.0], [2.0], [10.0]]).unsqueeze(0)
        c0 = torch.tensor([[[0.0], [1000.0]]])  # the far centroid gets no point
        c = lloyd_direct(x, x.pow(2).sum(-1), c0, torch.zeros(1), max_iter=1).centroids
        assert c[0, 1].item() == 10.0 and bool(torch.isfinite(c).all())

    def test_direct_lloyd_final_labels_are_the_assignment_of_its_centroids(self):
        x, _ = blobs(3, 60, 12, 4, seed=3)
        xc = x - x.mean(1, keepdim=True)
        sq = xc.pow(2).sum(-1)
        r = lloyd_direct(xc, sq, xc[:, :4].clone(), torch.zeros(3), max_iter=50)
        assert bool(r.final.all())  # converged by unchanged labels
        fresh = sq_distances(xc, r.centroids).min(-1)
        assert torch.equal(fresh.indices, r.labels)
        torch.testing.assert_close(fresh.values, r.min_dist, atol=1e-3, rtol=1e-4)

    def test_direct_lloyd_stopped_by_max_iter_is_not_final(self):
        x, _ = blobs(1, 80, 6, 5, seed=4)
        c0 = x[:, :5].clone()
        r = lloyd_direct(x, x.pow(2).sum(-1), c0, torch.zeros(1), max_iter=1)
        assert not bool(r.final.any())  # one iteration cannot show a fixed point

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
    def test_dtypes(self, dtype):
        x, labels = blobs(2, 30, 4, 3, spread=20.0)
        r = kmeans(x.to(dtype), 3, seed=0)
        assert r.centroids.dtype == dtype
        assert adjusted_rand_score(labels[0].numpy(), r.indices[0].numpy()) == 1.0

    def test_converges_before_max_iter_and_respects_it(self):
        x, _ = blobs(2, 60, 8, 4, spread=20.0)
        assert bool((kmeans(x, 4, seed=0, max_iter=50).n_iter < 50).all())
        assert bool((kmeans(x, 4, seed=0, max_iter=1).n_iter == 1).all())

    def test_n_init_never_worse(self):
        x = torch.randn(4, 50, 6, generator=torch.Generator().manual_seed(8))
        one = kmeans(x, 7, seed=3, n_init=1)
        three = kmeans(x, 7, seed=3, n_init=3)  # the first init is the same stream
        assert bool((three.inertia <= one.inertia + 1e-6).all())

    @settings(max_examples=15, deadline=None)
    @given(
        b=st.integers(1, 3),
        n=st.integers(1, 20),
        d=st.integers(1, 5),
        k=st.integers(1, 25),
        seed=st.integers(0, 2**31),
        method=st.sampled_from(METHODS),
        distinct=st.integers(1, 6),
    )
    def test_property_valid_output(self, b, n, d, k, seed, method, distinct):
        g = torch.Generator().manual_seed(seed)
        pool = torch.randn(distinct, d, generator=g)
        x = pool[torch.randint(0, distinct, (b, n), generator=g)]  # repeated points
        r = kmeans(x, k, seed=seed, method=method)
        kk = min(k, n)
        assert r.centroids.shape == (b, kk, d)
        assert bool(torch.isfinite(r.centroids).all()) and bool(torch.isfinite(r.inertia).all())
        assert bool(((r.indices >= 0) & (r.indices < kk)).all())
        assert bool((r.inertia >= 0).all())

    @pytest.mark.parametrize(
        ("x", "kwargs", "error", "match"),
        [
            ([[0.0]], {}, TypeError, "x must be a torch.Tensor"),
            (torch.zeros(4), {}, ValueError, r"x must have shape \[N, D\]"),
            (torch.zeros(4, 2, dtype=torch.int64), {}, ValueError, "floating-point"),
            (torch.zeros(0, 2), {}, ValueError, "at least one point"),
            (torch.tensor([[0.0], [float("nan")]]), {}, ValueError, "NaN"),
            (torch.tensor([[0.0], [float("inf")]]), {"k": 5}, ValueError, "NaN or infinite"),
            (torch.zeros(4, 2), {"k": 0}, ValueError, "k must be >= 1"),
            (torch.zeros(4, 2), {"k": 2.0}, TypeError, "k must be an int"),
            (torch.zeros(4, 2), {"max_iter": 0}, ValueError, "max_iter must be >= 1"),
            (torch.zeros(4, 2), {"n_init": 0}, ValueError, "n_init must be >= 1"),
            (torch.zeros(4, 2), {"tol": -1.0}, ValueError, "tol must be a number >= 0"),
            (torch.zeros(4, 2), {"method": "fast"}, ValueError, "method must be"),
            (torch.zeros(2, 4, 2), {"seed": [1]}, ValueError, "sequence of 2 ints"),
            (torch.zeros(4, 2), {"seed": "0"}, TypeError, "seed must be an int"),
        ],
    )
    def test_errors_name_the_argument(self, x, kwargs, error, match):
        args = {"k": 2, "seed": 0, **kwargs}
        k = args.pop("k")
        with pytest.raises(error, match=match):
            kmeans(x, k, **args)


class TestLazyExport:
    def test_collab_infer_kmeans_is_the_function(self):
        assert collab_infer.kmeans is kmeans

    def test_import_collab_infer_does_not_import_torch(self):
        code = "import sys, collab_infer; print('torch' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False", out.stderr
