"""``dpc_knn``: density-peaks clustering with k-nearest neighbours (DPC-KNN) token merging.

As in TCFormer's token clustering (Zeng et al., CVPR 2022) and TOFC (Yuan et al.,
2025): with distances ``d_ij = ||x_i - x_j|| / sqrt(D)``,

- local density ``rho_i = exp(-mean_{j in kNN(i)} d_ij^2)`` over the ``knn`` nearest
  tokens (the token itself included, as in TCFormer),
- ``delta_i`` = distance to the nearest token of higher density (the densest token
  gets the largest distance in the image),
- score ``rho_i * delta_i``; the ``k`` highest scores are the cluster centres,
- every token joins its nearest centre (each centre its own cluster), and each
  cluster is merged into the mean of its tokens.

Scores are ranked in log space (``log rho + log delta``: the same order, no
underflow of ``exp``). Exact density ties are broken by a seeded random rank (TCFormer
adds 1e-6 uniform noise instead). Output: a :class:`~codec.payload.VQPayload`
(cluster means [k, D] + cluster index per token [N]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from collab_infer.clustering.distances import sq_distances
from collab_infer.clustering.lloyd import cluster_means
from collab_infer.reducers.base import Reducer
from collab_infer.reducers.kmeans_vq import vq_payloads

__all__ = ["DPCKNN", "dpc_knn_centres"]


def dpc_knn_centres(
    x: torch.Tensor, k: int, *, knn: int, rank: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Density-peak centres and assignments.

    :input x: [B, N, D] float; :param k: centres, ``1 <= k <= N``
    :param knn: neighbours for the density (clipped to N)
    :input rank: [B, N] distinct tie-break ranks (lower wins a density tie)
    :output: centres [B, k] int64 (distinct token ids, by decreasing score),
        labels [B, N] int64 in [0, k) (centre j has label j)
    """
    b, n, d = x.shape
    dist = sq_distances(x, x).div_(d).sqrt_()  # [B, N, N]
    near = dist.topk(min(knn, n), dim=-1, largest=False).values  # [B, N, knn]
    log_rho = -near.pow(2).mean(-1)  # [B, N]
    # j is "higher" than i: larger density, or equal density and lower tie rank
    higher = (log_rho.unsqueeze(1) > log_rho.unsqueeze(2)) | (
        (log_rho.unsqueeze(1) == log_rho.unsqueeze(2)) & (rank.unsqueeze(1) < rank.unsqueeze(2))
    )  # [B, N(i), N(j)]
    dist_max = dist.amax((1, 2), keepdim=True)  # [B, 1, 1]
    delta = torch.where(higher, dist, dist_max).amin(-1)  # [B, N]
    score = log_rho + torch.log(delta)  # [B, N], log(rho * delta); -inf when delta = 0
    centres = score.argsort(dim=-1, descending=True, stable=True)[:, :k]  # [B, k]
    to_centre = dist.gather(2, centres.unsqueeze(1).expand(b, n, k))  # [B, N, k]
    labels = to_centre.argmin(-1)  # [B, N]
    own = torch.arange(k, device=x.device).expand(b, k)
    labels = labels.scatter(1, centres, own)  # each centre in its own cluster
    return centres, labels


@dataclass(frozen=True)
class DPCKNN(Reducer):
    """DPC-KNN token merging into ``k`` cluster means (see the module docstring).

    :param knn: nearest neighbours for the local density (TCFormer uses 5)

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.cat([torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g) + 20])
    >>> p = DPCKNN()(x[None], 2, seed=0)[0]
    >>> len(set(p.indices[:8].tolist())), len(set(p.indices[8:].tolist()))
    (1, 1)
    """

    name: ClassVar[str] = "dpc_knn"
    knn: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.knn, bool) or not isinstance(self.knn, int) or self.knn < 1:
            raise ValueError(f"knn must be an int >= 1, got {self.knn!r}")

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        b, n, _ = tokens.shape
        x = tokens.float() if tokens.dtype in (torch.float16, torch.bfloat16) else tokens
        g = torch.Generator().manual_seed(seed)
        rank = torch.rand(b, n, generator=g).argsort(-1).to(x.device)  # [B, N] distinct
        _, labels = dpc_knn_centres(x, k, knn=self.knn, rank=rank)
        means = cluster_means(x, labels, k).to(tokens.dtype)  # [B, k, D]
        return vq_payloads(means, labels)
