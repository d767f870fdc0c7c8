"""Greedy k-means++ seeding, batched over items (Arthur & Vassilvitskii 2007).

The same greedy variant as scikit-learn's ``kmeans_plusplus``: at every step
``n_local_trials = 2 + floor(ln k)`` candidates are drawn with probability
proportional to the squared distance to the closest centre chosen so far, and the
candidate that lowers the potential (sum of those squared distances) most is kept.
The loop runs over the ``k`` centres, never over points; each step is a handful of
batched tensor ops over all items at once.
"""

from __future__ import annotations

import math

import torch

from collab_infer.clustering.distances import sq_distances

__all__ = ["kmeans_plusplus", "n_local_trials"]


def n_local_trials(k: int) -> int:
    """Candidates drawn per step of greedy k-means++: ``2 + floor(ln k)`` (as scikit-learn)."""
    return 2 + int(math.log(k))


def kmeans_plusplus(
    x: torch.Tensor, k: int, uniforms: torch.Tensor, *, x_sqnorm: torch.Tensor | None = None
) -> torch.Tensor:
    """Choose ``k`` initial centres per item by greedy k-means++.

    Randomness comes only from ``uniforms`` (so the caller owns the generator and an
    item's choice depends only on its own data and its own uniforms).

    :input x: [B, N, D], floating point, ``1 <= k <= N``
    :input uniforms: [B, k, L] float64 in [0, 1); ``uniforms[:, 0, 0]`` picks the first
        centre uniformly, ``uniforms[:, j, :]`` the ``L`` candidates of step ``j``
    :input x_sqnorm: optional [B, N] squared norms of ``x``
    :output: [B, k] int64, indices into N of the chosen centres

    If every point already coincides with a chosen centre (fewer than ``k`` distinct
    points) the potential is 0 and the last point is picked: centres may repeat, which
    the Lloyd iterations handle as empty clusters.
    """
    b, n, d = x.shape  # [B, N, D]
    if x_sqnorm is None:
        x_sqnorm = x.pow(2).sum(-1)  # [B, N]
    rows = torch.arange(b, device=x.device)
    ids = torch.empty(b, k, dtype=torch.long, device=x.device)  # [B, k]
    first = (uniforms[:, 0, 0] * n).long().clamp_(0, n - 1)  # [B]
    ids[:, 0] = first
    centre = x[rows, first].unsqueeze(1)  # [B, 1, D]
    closest = sq_distances(x, centre, x_sqnorm=x_sqnorm)[..., 0]  # [B, N]
    n_trials = uniforms.shape[-1]
    for j in range(1, k):
        cdf = closest.double().cumsum(-1)  # [B, N]
        targets = uniforms[:, j, :] * cdf[:, -1:]  # [B, L]
        cand = torch.searchsorted(cdf, targets, right=True).clamp_(max=n - 1)  # [B, L]
        cand_vec = x.gather(1, cand.unsqueeze(-1).expand(b, n_trials, d))  # [B, L, D]
        dist = sq_distances(x, cand_vec, x_sqnorm=x_sqnorm)  # [B, N, L]
        dist = torch.minimum(dist, closest.unsqueeze(-1))  # [B, N, L]
        best = dist.sum(1).argmin(-1)  # [B]
        closest = dist[rows, :, best]  # [B, N]
        ids[:, j] = cand[rows, best]
    return ids
