"""Token replacement used by the default-model evaluation."""

import torch

from collab_infer.training.evaluate import kmeans_replace, random_replace


def _tokens():
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 16, 8, generator=g)


def test_kmeans_replace_k1_is_the_mean_and_kN_is_identity():
    x = _tokens()
    one = kmeans_replace(x, 1, seed=0)
    torch.testing.assert_close(one, x.mean(1, keepdim=True).expand_as(x))
    torch.testing.assert_close(kmeans_replace(x, 16, seed=0), x)


def test_kmeans_replace_uses_k_distinct_vectors():
    x = _tokens()
    r = kmeans_replace(x, 4, seed=1)
    for b in range(3):
        assert len(torch.unique(r[b], dim=0)) == 4
    torch.testing.assert_close(r, kmeans_replace(x, 4, seed=1))


def test_random_replace_keeps_k_positions_and_fills_their_mean():
    x = _tokens()
    r = random_replace(x, 5, seed=2)
    kept = (r == x).all(-1)
    assert kept.sum(1).tolist() == [5, 5, 5]
    for b in range(3):
        fill = x[b][kept[b]].mean(0)
        torch.testing.assert_close(r[b][~kept[b]], fill.expand(11, -1))
    assert torch.equal(r, random_replace(x, 5, seed=2))
    assert not torch.equal(r, random_replace(x, 5, seed=3))
