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
from collections.abc import Callable

import torch

__all__ = ["kmeans_plusplus", "n_local_trials"]


def n_local_trials(k: int) -> int:
    """Candidates drawn per step of greedy k-means++: ``2 + floor(ln k)`` (as scikit-learn)."""
    return 2 + int(math.log(k))


def kmeans_plusplus(
    dist_to_points: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    k: int,
    uniforms: torch.Tensor,
) -> torch.Tensor:
    """Choose ``k`` initial centres per item among its ``N`` points by greedy k-means++.

    Randomness comes only from ``uniforms`` (the caller owns the generator, so an
    item's choice depends only on its own data and its own uniforms).

    :param dist_to_points: maps point ids ``[B, M]`` (int64) to the squared distances
        of every point to those points ``[B, N, M]`` (e.g. from a Gram matrix or from
        the coordinates)
    :param n: points per item ``N``; ``1 <= k <= N``
    :input uniforms: [B, k, L] float64 in [0, 1); ``uniforms[:, 0, 0]`` picks the first
        centre uniformly, ``uniforms[:, j, :]`` the ``L`` candidates of step ``j``
    :output: [B, k] int64, indices into N of the chosen centres

    If every point already coincides with a chosen centre (fewer than ``k`` distinct
    points) the potential is 0 and the last point is picked: centres may repeat, which
    the Lloyd iterations handle as empty clusters.
    """
    b = uniforms.shape[0]
    rows = torch.arange(b, device=uniforms.device)
    ids = torch.empty(b, k, dtype=torch.long, device=uniforms.device)  # [B, k]
    ids[:, 0] = (uniforms[:, 0, 0] * n).long().clamp_(0, n - 1)
    closest = dist_to_points(ids[:, :1])[..., 0]  # [B, N]
    for j in range(1, k):
        cdf = closest.double().cumsum(-1)  # [B, N]
        targets = uniforms[:, j, :] * cdf[:, -1:]  # [B, L]
        cand = torch.searchsorted(cdf, targets, right=True).clamp_(max=n - 1)  # [B, L]
        dist = torch.minimum(dist_to_points(cand), closest.unsqueeze(-1))  # [B, N, L]
        best = dist.sum(1).argmin(-1)  # [B]
        closest = dist[rows, :, best]  # [B, N]
        ids[:, j] = cand[rows, best]
    return ids
