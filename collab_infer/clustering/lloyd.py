"""Batched k-means (greedy k-means++ seeding + Lloyd iterations) in torch.

All items of a batch are clustered together with batched matmuls: distances by the
expansion ``||x||^2 - 2 x c^T + ||c||^2`` (memory ``O(B N K)``), centroid sums by one
``index_add_`` over the flattened batch. Items converge individually; converged items
leave the working set, so a batch costs what its slowest item costs only for that item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from collab_infer.clustering.distances import sq_distances
from collab_infer.clustering.kmeanspp import kmeans_plusplus, n_local_trials

__all__ = ["KMeansResult", "kmeans"]


@dataclass(frozen=True, eq=False)
class KMeansResult:
    """What :func:`kmeans` returns (batched shapes; the leading ``B`` is absent for a
    2-D input).

    :param centroids: [B, K, D], the input's dtype; ``K = min(k, N)``
    :param indices: [B, N] int64 in ``[0, K)``, each point's nearest centroid
    :param inertia: [B] float64, sum of squared distances of points to their centroid
    :param n_iter: [B] int64, Lloyd iterations run for the kept initialisation
    """

    centroids: torch.Tensor
    indices: torch.Tensor
    inertia: torch.Tensor
    n_iter: torch.Tensor

    @property
    def k(self) -> int:
        return int(self.centroids.shape[-2])


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _uniforms(
    seed: int | Sequence[int], batch: int, n_init: int, k: int, n_trials: int
) -> torch.Tensor:
    """[B, n_init, k, L] float64 uniforms; an int seed gives every item the same stream
    (so an item's result does not depend on the batch it is in), a sequence one each."""
    shape = (n_init, k, n_trials)
    if isinstance(seed, int) and not isinstance(seed, bool):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(shape, generator=g, dtype=torch.float64).expand(batch, *shape)
    if isinstance(seed, Sequence) and not isinstance(seed, str):
        seeds = list(seed)
        if len(seeds) != batch or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in seeds
        ):
            raise ValueError(
                f"seed must be an int or a sequence of {batch} ints (one per item), got {seed!r}"
            )
        draws = [
            torch.rand(shape, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
            for s in seeds
        ]
        return torch.stack(draws)
    raise TypeError(f"seed must be an int or a sequence of ints, got {type(seed).__name__}")


def _update(x: torch.Tensor, labels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster means by one flattened ``index_add_``.

    :input x: [B, N, D]; :input labels: [B, N] in [0, k)
    :output: means [B, k, D] (0 for empty clusters), counts [B, k] int64
    """
    b, n, d = x.shape
    flat = (labels + torch.arange(b, device=x.device).unsqueeze(1) * k).reshape(-1)  # [B*N]
    sums = x.new_zeros(b * k, d).index_add_(0, flat, x.reshape(-1, d))  # [B*k, D]
    counts = torch.bincount(flat, minlength=b * k).view(b, k)  # [B, k]
    means = sums.view(b, k, d) / counts.clamp_min(1).unsqueeze(-1).to(x.dtype)  # [B, k, D]
    return means, counts


def _relocate_empty(
    x: torch.Tensor, centroids: torch.Tensor, empty: torch.Tensor, min_dist: torch.Tensor
) -> torch.Tensor:
    """Move empty clusters onto the points farthest from their centroid (as scikit-learn):
    the j-th empty cluster of an item gets that item's j-th farthest point.

    :input x: [B, N, D]; :input centroids: [B, K, D]; :input empty: [B, K] bool;
    :input min_dist: [B, N] squared distance of each point to its centroid
    :output: [B, K, D]
    """
    b, n, d = x.shape
    k = centroids.shape[1]  # k <= n
    farthest = min_dist.argsort(-1, descending=True, stable=True)[:, :k]  # [B, K]
    rank = (empty.long().cumsum(-1) - 1).clamp_min(0)  # [B, K]
    pick = farthest.gather(1, rank)  # [B, K]
    far_vec = x.gather(1, pick.unsqueeze(-1).expand(b, k, d))  # [B, K, D]
    return torch.where(empty.unsqueeze(-1), far_vec, centroids)


def _lloyd(
    x: torch.Tensor,
    x_sqnorm: torch.Tensor,
    centroids: torch.Tensor,
    tol_abs: torch.Tensor,
    max_iter: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd iterations with per-item convergence; converged items leave the working set.

    An item stops when its labels no longer change or the total squared centroid
    shift is ``<= tol_abs`` (scikit-learn's rule). :output: centroids [B, K, D], n_iter [B]
    """
    b, n, d = x.shape
    k = centroids.shape[1]
    centroids = centroids.clone()
    n_iter = torch.zeros(b, dtype=torch.long, device=x.device)
    active = torch.arange(b, device=x.device)  # items still iterating
    xs, sq, tol_s = x, x_sqnorm, tol_abs  # working set, compacted when items finish
    cs = centroids
    prev = torch.full((b, n), -1, dtype=torch.long, device=x.device)  # [B, N]
    for _ in range(max_iter):
        # E step: nearest centroid; ||x||^2 is constant per row, added afterwards.
        c_sq = cs.pow(2).sum(-1)  # [b, K]
        scores = torch.baddbmm(c_sq.unsqueeze(1), xs, cs.transpose(1, 2), alpha=-2.0)
        min_dist, labels = scores.min(-1)  # [b, N]
        # M step: means; empty clusters re-seeded from the farthest points.
        new_c, counts = _update(xs, labels, k)  # [b, K, D], [b, K]
        empty = counts == 0
        if bool(empty.any()):
            new_c = _relocate_empty(xs, new_c, empty, (min_dist + sq).clamp_min(0))
        shift = (new_c - cs).pow(2).sum((1, 2))  # [b]
        done = (labels == prev).all(-1) | (shift <= tol_s)  # [b]
        n_iter[active] += 1
        centroids[active] = new_c
        prev = labels
        if bool(done.all()):
            break
        if bool(done.any()):
            keep = ~done
            active, xs, sq, tol_s = active[keep], xs[keep], sq[keep], tol_s[keep]
            new_c, prev = new_c[keep], prev[keep]
        cs = new_c
    return centroids, n_iter


def kmeans(
    x: torch.Tensor,
    k: int,
    *,
    seed: int | Sequence[int],
    max_iter: int = 50,
    tol: float = 1e-4,
    n_init: int = 1,
) -> KMeansResult:
    """k-means of ``N`` points in ``D`` dimensions, for one item or a batch of items.

    Greedy k-means++ seeding, then Lloyd iterations until labels stop changing, the
    total squared centroid shift falls to ``tol * mean per-feature variance`` of the
    item (scikit-learn's relative tolerance), or ``max_iter``. Items of a batch are
    clustered together (batched matmuls) but converge individually. Empty clusters are
    re-seeded on the points farthest from their centroid, so results never hold NaN.
    Points are centred per item before clustering (better float32 precision for the
    distance expansion); float16/bfloat16 inputs are computed in float32.

    :param x: [N, D] or [B, N, D], floating point, finite
    :param k: number of clusters, ``>= 1``. For ``k >= N`` it is clipped to ``N``: every
        point is its own centroid (``centroids = x``, ``indices = arange(N)``,
        inertia 0), so ``K = min(k, N)``.
    :param seed: an int (every item uses the same random stream, so item ``b`` of a
        batch gives exactly ``kmeans(x[b], k, seed=seed)``), or one int per item
    :param max_iter: at most this many Lloyd iterations per initialisation, ``>= 1``
    :param tol: relative tolerance on the centroid shift, ``>= 0``
    :param n_init: initialisations per item; the one with the lowest inertia is kept
    :return: :class:`KMeansResult` with ``centroids [B?, K, D]``, ``indices [B?, N]``,
        ``inertia [B?]``, ``n_iter [B?]``

    >>> x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> r = kmeans(x, 2, seed=0)
    >>> sorted(r.centroids[:, 0].tolist()), float(r.inertia)
    ([0.0, 10.0], 1.0)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape [N, D] or [B, N, D], got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    k = _check_int("k", k, 1)
    max_iter = _check_int("max_iter", max_iter, 1)
    n_init = _check_int("n_init", n_init, 1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    single = x.dim() == 2
    xb = x.unsqueeze(0) if single else x  # [B, N, D]
    b, n, d = xb.shape
    if n < 1 or d < 1:
        raise ValueError(f"x must hold at least one point of dimension >= 1, got {tuple(x.shape)}")
    if b < 1:
        raise ValueError("x must hold at least one item (B >= 1)")
    if not bool(torch.isfinite(xb).all()):
        raise ValueError("x contains NaN or infinite values")
    uniforms = _uniforms(seed, b, n_init, min(k, n), n_local_trials(min(k, n)))

    if k >= n:  # every point its own centroid
        result = KMeansResult(
            centroids=xb.clone(),
            indices=torch.arange(n, device=x.device).expand(b, n).clone(),
            inertia=torch.zeros(b, dtype=torch.float64, device=x.device),
            n_iter=torch.zeros(b, dtype=torch.long, device=x.device),
        )
        return _squeeze(result) if single else result

    work_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    mean = xb.to(work_dtype).mean(1, keepdim=True)  # [B, 1, D]
    xc = xb.to(work_dtype) - mean  # [B, N, D], centred copy
    x_sq = xc.pow(2).sum(-1)  # [B, N]
    tol_abs = tol * xc.pow(2).mean(1).mean(-1)  # [B]: tol * mean per-feature variance
    uniforms = uniforms.to(x.device)
    rows = torch.arange(b, device=x.device).unsqueeze(1)  # [B, 1]

    best_c = best_lab = best_inertia = best_iter = None
    for r in range(n_init):
        ids = kmeans_plusplus(xc, k, uniforms[:, r], x_sqnorm=x_sq)  # [B, K]
        c, n_iter = _lloyd(xc, x_sq, xc[rows, ids], tol_abs, max_iter)  # [B, K, D], [B]
        labels = sq_distances(xc, c, x_sqnorm=x_sq).argmin(-1)  # [B, N], final E step
        own = c.gather(1, labels.unsqueeze(-1).expand(b, n, d))  # [B, N, D]
        inertia = (xc - own).pow(2).sum(-1).double().sum(-1)  # [B]
        if best_c is None:
            best_c, best_lab, best_inertia, best_iter = c, labels, inertia, n_iter
        else:
            better = inertia < best_inertia  # [B]
            best_c = torch.where(better[:, None, None], c, best_c)
            best_lab = torch.where(better[:, None], labels, best_lab)
            best_inertia = torch.where(better, inertia, best_inertia)
            best_iter = torch.where(better, n_iter, best_iter)

    result = KMeansResult(
        centroids=(best_c + mean).to(x.dtype),
        indices=best_lab,
        inertia=best_inertia,
        n_iter=best_iter,
    )
    return _squeeze(result) if single else result


def _squeeze(r: KMeansResult) -> KMeansResult:
    return KMeansResult(r.centroids[0], r.indices[0], r.inertia[0], r.n_iter[0])
