"""collab_infer.reducers: registry, the six reducers, budgets."""

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import adjusted_rand_score

from codec.payload import SubsetPayload, VQPayload, payload_kind
from collab_infer import kmeans
from collab_infer.reducers import budget_to_k, get, make, names
from collab_infer.reducers.dpc_knn import dpc_knn_centres
from collab_infer.reducers.pool import cell_indices, pool_grid

ALL = ["full", "random", "kmeans", "topk_norm", "pool", "dpc_knn"]
KIND = {
    "full": "full",
    "random": "subset",
    "kmeans": "vq",
    "topk_norm": "subset",
    "pool": "vq",
    "dpc_knn": "vq",
}


def tokens(b=3, n=16, d=8, seed=0):
    return torch.randn(b, n, d, generator=torch.Generator().manual_seed(seed))


def same_payload(p, q) -> bool:
    if type(p) is not type(q):
        return False
    fields = {"vq": ("centroids", "indices"), "subset": ("vectors", "positions"), "full": ()}
    names_ = fields[payload_kind(p)] or ("vectors",)
    return all(torch.equal(getattr(p, f), getattr(q, f)) for f in names_)


class TestRegistry:
    def test_names(self):
        assert names() == sorted(ALL)

    @pytest.mark.parametrize("name", ALL)
    def test_get_make_describe(self, name):
        r = make(name)
        assert isinstance(r, get(name)) and r.name == name
        assert r.describe()["name"] == name

    def test_unknown_name_did_you_mean(self):
        with pytest.raises(ValueError, match="Did you mean 'kmeans'"):
            get("kmean")

    def test_unknown_parameter(self):
        with pytest.raises(ValueError, match="unknown parameter.*n_clusters.*valid: max_iter"):
            make("kmeans", n_clusters=3)

    @pytest.mark.parametrize(
        ("name", "params", "match"),
        [
            ("kmeans", {"max_iter": 0}, "max_iter must be"),
            ("kmeans", {"tol": -1}, "tol must be"),
            ("dpc_knn", {"knn": 0}, "knn must be"),
        ],
    )
    def test_bad_parameters(self, name, params, match):
        with pytest.raises(ValueError, match=match):
            make(name, **params)

    def test_describe_records_parameters(self):
        assert make("dpc_knn", knn=3).describe() == {"name": "dpc_knn", "knn": 3}


class TestAllReducers:
    @pytest.mark.parametrize("name", ALL)
    @pytest.mark.parametrize("k", [1, 4, 16])
    def test_payload_kind_shape_validity(self, name, k):
        x = tokens()
        out = make(name)(x, k, seed=0, grid=(4, 4))
        assert len(out) == 3
        for p, t in zip(out, x, strict=True):
            assert payload_kind(p) == KIND[name]
            assert p.dim == 8
            if isinstance(p, VQPayload):
                assert p.n_tokens == 16 and p.k <= 16 and bool(torch.isfinite(p.centroids).all())
                if name != "pool":
                    assert p.k == k
            elif isinstance(p, SubsetPayload):
                assert p.k == k and p.n_tokens == 16
                assert torch.equal(p.vectors, t[p.positions])
            else:
                assert torch.equal(p.vectors, t)

    @pytest.mark.parametrize("name", ALL)
    def test_deterministic_for_a_seed(self, name):
        x = tokens(seed=1)
        a = make(name)(x, 5, seed=3, grid=(4, 4))
        b = make(name)(x, 5, seed=3, grid=(4, 4))
        assert all(same_payload(p, q) for p, q in zip(a, b, strict=True))

    @pytest.mark.parametrize("name", ALL)
    def test_two_dim_input_is_a_batch_of_one(self, name):
        x = tokens(b=1)
        a = make(name)(x[0], 4, seed=0)
        b = make(name)(x, 4, seed=0)
        assert len(a) == 1 and same_payload(a[0], b[0])

    @pytest.mark.parametrize("name", ["random", "kmeans", "topk_norm", "pool", "dpc_knn"])
    @pytest.mark.parametrize(
        ("k", "error", "match"),
        [
            (0, ValueError, "k must be >= 1"),
            (17, ValueError, "k must be <= the number of tokens N=16"),
            (2.5, TypeError, "k must be an int"),
            (None, TypeError, "k must be an int"),
        ],
    )
    def test_bad_k(self, name, k, error, match):
        with pytest.raises(error, match=match):
            make(name)(tokens(), k, seed=0)

    def test_full_ignores_k(self):
        assert len(make("full")(tokens(), None, seed=0)) == 3

    @pytest.mark.parametrize(
        ("x", "kw", "error", "match"),
        [
            ([[1.0]], {}, TypeError, "tokens must be a torch.Tensor"),
            (torch.zeros(2, 3, 4, 5), {}, ValueError, r"tokens must have shape \[B, N, D\]"),
            (torch.zeros(1, 16, 2, dtype=torch.int32), {}, ValueError, "floating-point"),
            (torch.zeros(1, 0, 2), {}, ValueError, "must not be empty"),
            (torch.zeros(1, 16, 2), {"seed": 1.5}, TypeError, "seed must be an int"),
            (torch.zeros(1, 16, 2), {"grid": (3, 5)}, ValueError, "grid 3x5 holds 15 tokens"),
            (torch.zeros(1, 16, 2), {"grid": (4,)}, ValueError, "grid must be a pair"),
        ],
    )
    def test_bad_inputs(self, x, kw, error, match):
        with pytest.raises(error, match=match):
            make("random")(x, 2, **{"seed": 0, **kw})


class TestRandom:
    def test_positions_sorted_distinct_and_seeded(self):
        x = tokens(b=4, n=64)
        out = make("random")(x, 10, seed=0)
        for p in out:
            assert bool((p.positions[1:] > p.positions[:-1]).all())
        # images of a batch get different subsets; another seed gives another subset
        assert len({tuple(p.positions.tolist()) for p in out}) == 4
        other = make("random")(x, 10, seed=1)
        assert not torch.equal(out[0].positions, other[0].positions)

    def test_roughly_uniform(self):
        x = tokens(b=200, n=20, d=1)
        hits = torch.zeros(20)
        for p in make("random")(x, 5, seed=0):
            hits[p.positions] += 1
        # 200 draws of 5/20: expected 50 per position, sd ~6
        assert hits.min() > 25 and hits.max() < 75


class TestTopKNorm:
    def test_keeps_largest_norms(self):
        x = tokens(b=2, n=30)
        for p, t in zip(make("topk_norm")(x, 7, seed=0), x, strict=True):
            norms = t.norm(dim=-1)
            kept = norms[p.positions]
            dropped = norms[[i for i in range(30) if i not in set(p.positions.tolist())]]
            assert kept.min() >= dropped.max()

    def test_ties_prefer_earlier_positions(self):
        x = torch.ones(1, 6, 2)
        assert make("topk_norm")(x, 3, seed=0)[0].positions.tolist() == [0, 1, 2]


class TestKMeansReducer:
    def test_matches_kmeans(self):
        x = tokens(b=2, n=32)
        out = make("kmeans")(x, 4, seed=5)
        r = kmeans(x, 4, seed=5)
        for b, p in enumerate(out):
            assert torch.equal(p.centroids, r.centroids[b]) and torch.equal(p.indices, r.indices[b])

    def test_payload_independent_of_batch(self):
        x = tokens(b=3, n=32)
        alone = make("kmeans")(x[1:2], 4, seed=2)[0]
        assert same_payload(alone, make("kmeans")(x, 4, seed=2)[1])

    def test_k_equals_n(self):
        x = tokens(b=1, n=16)
        p = make("kmeans")(x, 16, seed=0)[0]
        assert torch.equal(p.centroids[p.indices], x[0])


class TestPool:
    @pytest.mark.parametrize(
        ("grid", "k", "expected"),
        [
            ((16, 16), 8, (2, 4)),
            ((16, 16), 16, (4, 4)),
            ((16, 16), 64, (8, 8)),
            ((16, 16), 256, (16, 16)),
            ((16, 16), 1, (1, 1)),
            ((16, 16), 10, (2, 5)),
            ((24, 24), 32, (4, 8)),
            ((2, 8), 4, (1, 4)),
            ((3, 1), 2, (2, 1)),
        ],
    )
    def test_pool_grid(self, grid, k, expected):
        assert pool_grid(*grid, k) == expected

    @pytest.mark.parametrize(("h", "w", "hp", "wp"), [(4, 4, 2, 2), (16, 16, 3, 5), (5, 7, 5, 1)])
    def test_cell_indices_partition(self, h, w, hp, wp):
        cells = cell_indices(h, w, hp, wp)
        counts = torch.bincount(cells, minlength=hp * wp)
        assert cells.shape == (h * w,) and len(counts) == hp * wp
        assert counts.min() >= 1  # every cell non-empty
        sizes = counts.view(hp, wp)
        assert sizes.max() - sizes.min() <= (h // hp + 1) * (w // wp + 1) - (h // hp) * (w // wp)

    def test_matches_avg_pool_on_divisible_grid(self):
        x = tokens(b=2, n=256, d=3)
        p = make("pool")(x, 16, seed=0, grid=(16, 16))
        ref = F.avg_pool2d(x.view(2, 16, 16, 3).permute(0, 3, 1, 2), 4)  # [B, D, 4, 4]
        ref = ref.flatten(2).transpose(1, 2)  # [B, 16, D]
        for b in range(2):
            torch.testing.assert_close(p[b].centroids, ref[b])
            # token (r, c) maps to cell (r // 4, c // 4)
            r, c = torch.arange(256) // 16, torch.arange(256) % 16
            assert torch.equal(p[b].indices, (r // 4) * 4 + c // 4)

    def test_square_grid_inferred(self):
        x = tokens(n=16)
        a = make("pool")(x, 4, seed=0)
        b = make("pool")(x, 4, seed=0, grid=(4, 4))
        assert same_payload(a[0], b[0])

    def test_needs_grid_for_non_square(self):
        with pytest.raises(ValueError, match="pool needs grid"):
            make("pool")(tokens(n=12), 4, seed=0)

    def test_rectangular_grid(self):
        p = make("pool")(tokens(n=12, b=1), 3, seed=0, grid=(2, 6))[0]
        assert p.k == 3 and p.indices.view(2, 6).tolist() == [[0, 0, 1, 1, 2, 2]] * 2
        # equal aspect error for (1, 6) and (2, 3): the smaller h' wins
        assert pool_grid(2, 6, 6) == (1, 6)


def planted(b, n_clusters, per, d=6, spread=30.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(b, n_clusters, d, generator=g)
    labels = torch.arange(n_clusters * per) // per
    x = centres[:, labels] + torch.randn(b, n_clusters * per, d, generator=g)
    return x, labels


class TestDPCKNN:
    def test_distinct_centres_and_own_labels(self):
        x = tokens(b=3, n=40)
        rank = torch.rand(3, 40, generator=torch.Generator().manual_seed(0)).argsort(-1)
        centres, labels = dpc_knn_centres(x, 6, knn=5, rank=rank)
        for b in range(3):
            assert len(set(centres[b].tolist())) == 6
            assert labels[b, centres[b]].tolist() == list(range(6))
            assert torch.bincount(labels[b], minlength=6).min() >= 1

    @pytest.mark.parametrize("n_clusters", [2, 5])
    def test_recovers_planted_clusters(self, n_clusters):
        x, labels = planted(3, n_clusters, per=12)
        out = make("dpc_knn")(x, n_clusters, seed=0)
        for b, p in enumerate(out):
            assert adjusted_rand_score(labels.numpy(), p.indices.numpy()) == 1.0
            # cluster means
            for c in range(n_clusters):
                torch.testing.assert_close(p.centroids[c], x[b, p.indices == c].mean(0))

    def test_duplicates_and_ties(self):
        x = torch.zeros(2, 10, 3)
        x[:, 5:] = 1.0  # two groups of exact duplicates
        out = make("dpc_knn")(x, 3, seed=0)
        for p in out:
            assert bool(torch.isfinite(p.centroids).all())
            assert torch.bincount(p.indices, minlength=3).min() >= 1

    def test_seed_only_breaks_ties(self):
        x = tokens(b=2, n=30)  # continuous data: no exact density ties
        a, b = make("dpc_knn")(x, 4, seed=0), make("dpc_knn")(x, 4, seed=1)
        assert all(same_payload(p, q) for p, q in zip(a, b, strict=True))

    def test_knn_larger_than_n(self):
        p = make("dpc_knn", knn=50)(tokens(n=8), 3, seed=0)[0]
        assert p.k == 3


class TestBudget:
    @pytest.mark.parametrize(
        ("n", "kw", "expected"),
        [
            (256, {"ratio": 0.4}, 102),
            (256, {"ratio": 1.0}, 256),
            (256, {"ratio": 1e-6}, 1),
            (256, {"ratio": 8 / 256}, 8),
            (256, {"k": 8}, 8),
            (10, {"k": 10}, 10),
        ],
    )
    def test_budget_to_k(self, n, kw, expected):
        assert budget_to_k(n, **kw) == expected

    @pytest.mark.parametrize(
        ("n", "kw", "error", "match"),
        [
            (256, {}, ValueError, "exactly one of k"),
            (256, {"k": 3, "ratio": 0.5}, ValueError, "exactly one of k"),
            (256, {"ratio": 0.0}, ValueError, r"ratio must lie in \(0, 1\]"),
            (256, {"ratio": 1.5}, ValueError, r"ratio must lie in \(0, 1\]"),
            (256, {"ratio": "0.5"}, TypeError, "ratio must be a number"),
            (256, {"k": 0}, ValueError, "k must be >= 1"),
            (256, {"k": 300}, ValueError, "k must be <= the number of tokens N=256"),
            (0, {"k": 1}, ValueError, "n_tokens must be an int >= 1"),
        ],
    )
    def test_budget_errors(self, n, kw, error, match):
        with pytest.raises(error, match=match):
            budget_to_k(n, **kw)
