"""Lloyd iterations, batched over items with per-item convergence.

Two equivalent state representations, chosen by :func:`collab_infer.clustering.kmeans`:

- ``lloyd_gram``: centroids are kept as weights ``A [B, K, N]`` over the points
  (``c_k = sum_i A_ki x_i``) and every distance comes from the Gram matrix
  ``G = x x^T [B, N, N]`` (kernel k-means with a linear kernel). After one
  ``N x N x D`` matmul an iteration costs ``O(N^2 K)`` instead of ``O(N D K)``: the
  right choice for visual tokens (``N = 256 <= D = 2048``), and it is exact.
- ``lloyd_direct``: centroids as vectors ``[B, K, D]``, distances by the expansion
  ``||x||^2 - 2 x c^T + ||c||^2``, sums by one flattened ``index_add_`` (for ``N > D``).

An item stops when its labels no longer change or the total squared centroid shift is
``<= tol_abs`` (scikit-learn's rule); converged items leave the working set. Empty
clusters are re-seeded on the points farthest from their centroid (as scikit-learn),
so no centroid is ever NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from collab_infer.clustering.blas import baddbmm, matmul

__all__ = [
    "DirectResult",
    "assign",
    "cluster_means",
    "farthest_for_empty",
    "lloyd_direct",
    "lloyd_gram",
]


class DirectResult(NamedTuple):
    """What :func:`lloyd_direct` returns.

    :param centroids: [B, K, D] final centroids
    :param n_iter: [B] Lloyd iterations run
    :param labels: [B, N] labels of the last E step
    :param min_dist: [B, N] squared distances of the points to those labels' centroids
    :param final: [B] bool: the last E step's labels did not change (and no cluster was
        re-seeded), so ``centroids`` are exactly the centroids it used and ``labels`` /
        ``min_dist`` are their assignment; elsewhere a final E step is still needed
    """

    centroids: torch.Tensor
    n_iter: torch.Tensor
    labels: torch.Tensor
    min_dist: torch.Tensor
    final: torch.Tensor


def farthest_for_empty(empty: torch.Tensor, min_dist: torch.Tensor) -> torch.Tensor:
    """Point chosen for each cluster: the j-th empty cluster of an item gets that item's
    j-th farthest point (from its own centroid); the choice for non-empty clusters is
    meaningless and must be masked by the caller.

    :input empty: [B, K] bool; :input min_dist: [B, N] squared distance to own centroid
    :output: [B, K] int64 point ids (K <= N)
    """
    k = empty.shape[1]
    farthest = min_dist.argsort(dim=-1, descending=True, stable=True)[:, :k]  # [B, K]
    rank = (empty.long().cumsum(-1) - 1).clamp_min(0)  # [B, K]
    return farthest.gather(1, rank)


def lloyd_gram(
    gram: torch.Tensor, weights: torch.Tensor, tol_abs: torch.Tensor, max_iter: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lloyd on the Gram matrix.

    :input gram: [B, N, N] symmetric ``x x^T`` (of centred points)
    :input weights: [B, K, N] initial centroid weights (one-hot rows for k-means++ seeds)
    :input tol_abs: [B] absolute tolerance on the total squared centroid shift
    :output: ``(weights, labels, seeded, n_iter)``: final weights [B, K, N] (rows:
        ``1/|C_k|`` on members, or one-hot for a re-seeded cluster); the labels [B, N]
        and re-seeding points [B, K] (-1: none) of the last M step, which describe
        the same centroids sparsely (means of ``labels``, or the point ``seeded``);
        Lloyd iterations run [B] int64
    """
    b, k, n = weights.shape
    dev = gram.device
    out = weights.clone()
    out_labels = torch.zeros(b, n, dtype=torch.long, device=dev)
    out_seeded = torch.full((b, k), -1, dtype=torch.long, device=dev)
    n_iter = torch.zeros(b, dtype=torch.long, device=dev)
    # Working set: items still iterating plus finished ones not yet compacted away.
    active = torch.arange(b, device=dev)
    fin = torch.zeros(b, dtype=torch.bool, device=dev)
    g, tol, a = gram, tol_abs, weights
    dg = g.diagonal(dim1=1, dim2=2)  # [b, N] squared norms
    prev = torch.full((b, n), -1, dtype=torch.long, device=dev)  # [b, N]
    ga = matmul(a, g)  # [b, K, N]: x_i . c_k
    for _ in range(max_iter):
        cc = (ga * a).sum(-1, keepdim=True)  # [b, K, 1]: ||c_k||^2
        dist = (dg.unsqueeze(1) - 2.0 * ga + cc).clamp_min_(0.0)  # [b, K, N]
        min_dist, labels = dist.min(1)  # [b, N]
        one_hot = torch.zeros_like(a).scatter_(1, labels.unsqueeze(1), 1.0)  # [b, K, N]
        counts = one_hot.sum(-1, keepdim=True)  # [b, K, 1]
        new_a = one_hot.div_(counts.clamp_min(1.0))
        empty = counts[..., 0] == 0  # [b, K]
        seeded = torch.full_like(empty, -1, dtype=torch.long)  # [b, K]
        if bool(empty.any()):
            pick = farthest_for_empty(empty, min_dist)  # [b, K]
            seeded = torch.where(empty, pick, seeded)
            one_pt = torch.zeros_like(a).scatter_(2, pick.unsqueeze(-1), 1.0)
            new_a = torch.where(empty.unsqueeze(-1), one_pt, new_a)
        new_ga = matmul(new_a, g)  # [b, K, N], also the next E step's products
        # sum_k ||c_new - c_old||^2 = ||c_new||^2 - 2 c_new . c_old + ||c_old||^2
        shift = ((new_ga - 2.0 * ga) * new_a).sum((1, 2)) + cc.sum((1, 2))  # [b]
        done = (labels == prev).all(-1) | (shift <= tol)  # [b]
        live = ~fin
        rows = active[live]
        n_iter[rows] += 1
        out[rows], out_labels[rows], out_seeded[rows] = new_a[live], labels[live], seeded[live]
        fin = fin | done
        n_fin = int(fin.sum())
        if n_fin == fin.numel():
            break
        if 2 * n_fin >= fin.numel():  # compact: at most log2(B) copies of the Gram matrices
            keep = ~fin
            active, g, dg, tol, fin = active[keep], g[keep], dg[keep], tol[keep], fin[keep]
            new_a, new_ga, labels = new_a[keep], new_ga[keep], labels[keep]
        a, ga, prev = new_a, new_ga, labels
    return out, out_labels, out_seeded, n_iter


def cluster_means(
    x: torch.Tensor, labels: torch.Tensor, k: int, seeded: torch.Tensor | None = None
) -> torch.Tensor:
    """Centroids as means of labelled points by one flattened ``index_add_``; clusters
    with ``seeded >= 0`` are that point instead; empty ones (not seeded) are 0.

    :input x: [B, N, D]; :input labels: [B, N] in [0, k); :input seeded: [B, k] or None
    :output: [B, k, D]
    """
    b, n, d = x.shape
    flat = (labels + torch.arange(b, device=x.device).unsqueeze(1) * k).reshape(-1)  # [B*N]
    sums = x.new_zeros(b * k, d).index_add_(0, flat, x.reshape(-1, d))  # [B*k, D]
    counts = torch.bincount(flat, minlength=b * k).view(b, k, 1)  # [B, k, 1]
    means = sums.view(b, k, d) / counts.clamp_min(1).to(x.dtype)
    if seeded is not None and bool((seeded >= 0).any()):
        pts = x.gather(1, seeded.clamp_min(0).unsqueeze(-1).expand(b, k, d))  # [B, k, D]
        means = torch.where((seeded >= 0).unsqueeze(-1), pts, means)
    return means


def assign(
    x: torch.Tensor, x_sqnorm: torch.Tensor, centroids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """E step: each point's nearest centroid, by one ``[N, D] x [D, K]`` product;
    ``||x||^2`` is constant per point and added only to the minimum.

    :input x: [B, N, D]; :input x_sqnorm: [B, N]; :input centroids: [B, K, D]
    :output: ``(min_dist, labels)``, [B, N] each
    """
    bias = centroids.pow(2).sum(-1)  # [B, K]
    scores = baddbmm(bias.unsqueeze(1), x, centroids.transpose(1, 2), alpha=-2.0)  # [B, N, K]
    min_score, labels = scores.min(-1)
    return min_score.add_(x_sqnorm).clamp_min_(0.0), labels


def lloyd_direct(
    x: torch.Tensor,
    x_sqnorm: torch.Tensor,
    centroids: torch.Tensor,
    tol_abs: torch.Tensor,
    max_iter: int,
) -> DirectResult:
    """Lloyd on coordinates.

    :input x: [B, N, D] (centred points); :input x_sqnorm: [B, N]
    :input centroids: [B, K, D] initial centroids; :input tol_abs: [B]
    :output: :class:`DirectResult`
    """
    b, n, d = x.shape
    k = centroids.shape[1]
    dev = x.device
    out = centroids.clone()
    out_labels = torch.zeros(b, n, dtype=torch.long, device=dev)
    out_dist = torch.zeros(b, n, dtype=x_sqnorm.dtype, device=dev)
    out_final = torch.zeros(b, dtype=torch.bool, device=dev)
    n_iter = torch.zeros(b, dtype=torch.long, device=dev)
    active = torch.arange(b, device=dev)
    fin = torch.zeros(b, dtype=torch.bool, device=dev)
    xs, sq, tol, cs = x, x_sqnorm, tol_abs, centroids  # working set
    prev = torch.full((b, n), -1, dtype=torch.long, device=dev)
    for _ in range(max_iter):
        min_dist, labels = assign(xs, sq, cs)  # E step, [b, N] each
        counts = torch.zeros(xs.shape[0], k, dtype=torch.long, device=dev)
        counts.scatter_add_(1, labels, torch.ones_like(labels))  # [b, K]
        empty = counts == 0
        seeded = None
        if bool(empty.any()):
            pick = farthest_for_empty(empty, min_dist)  # [b, K]
            seeded = torch.where(empty, pick, -1)
        new_c = cluster_means(xs, labels, k, seeded)  # [b, K, D]
        shift = (new_c - cs).pow(2).sum((1, 2))  # [b]
        same = (labels == prev).all(-1)
        if seeded is not None:
            same = same & ~empty.any(-1)
        done = same | (shift <= tol)
        live = ~fin
        rows = active[live]
        n_iter[rows] += 1
        out[rows], out_labels[rows], out_dist[rows] = new_c[live], labels[live], min_dist[live]
        out_final[rows] = same[live]
        fin = fin | done
        n_fin = int(fin.sum())
        if n_fin == fin.numel():
            break
        if 2 * n_fin >= fin.numel():  # compact: at most log2(B) copies of the points
            keep = ~fin
            active, xs, sq, tol, fin = active[keep], xs[keep], sq[keep], tol[keep], fin[keep]
            new_c, labels = new_c[keep], labels[keep]
        cs, prev = new_c, labels
    return DirectResult(out, n_iter, out_labels, out_dist, out_final)
