"""collab_infer.clustering.distances: matmul-expanded distances and the symmetric Gram."""

import pytest
import torch

from collab_infer.clustering import gram_matrix, sq_distances


class TestDistances:
    @pytest.mark.parametrize(("n", "m", "d"), [(1, 1, 1), (7, 5, 3), (33, 17, 64)])
    def test_sq_distances_match_cdist(self, n, m, d):
        g = torch.Generator().manual_seed(n)
        x, y = torch.randn(2, n, d, generator=g), torch.randn(2, m, d, generator=g)
        ref = torch.cdist(x.double(), y.double()).pow(2)
        torch.testing.assert_close(sq_distances(x, y).double(), ref, rtol=1e-4, atol=1e-4)
        assert bool((sq_distances(x, x) >= 0).all())

    @pytest.mark.parametrize("n", [1, 63, 64, 65, 256])
    def test_gram_matrix_is_exact_and_symmetric(self, n):
        x = torch.randn(3, n, 40, generator=torch.Generator().manual_seed(n))
        g = gram_matrix(x)
        torch.testing.assert_close(g, x @ x.transpose(1, 2))
        assert torch.equal(g, g.transpose(1, 2))
