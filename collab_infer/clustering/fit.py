"""``kmeans``: batched k-means of token sets (greedy k-means++ + Lloyd) in torch.

Items of a batch are processed in cache-sized chunks (CPU) with batched matmuls; see
:mod:`collab_infer.clustering.lloyd` for the two exact formulations (Gram matrix for
``N <= D``, coordinates otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from collab_infer.clustering.blas import blas_threads, matmul
from collab_infer.clustering.distances import gram_matrix, sq_distances
from collab_infer.clustering.kmeanspp import kmeans_plusplus, n_local_trials
from collab_infer.clustering.lloyd import (
    DirectResult,
    assign,
    cluster_means,
    lloyd_direct,
    lloyd_gram,
)

__all__ = ["KMeansResult", "kmeans"]

#: CPU chunking (items clustered together). The coordinate path reads the points at
#: every step, so its chunks hold about CHUNK_BYTES_DIRECT bytes of points and stay in
#: cache through seeding and all Lloyd iterations; the Gram path reads the points only
#: twice and works on B x N x N Gram matrices, so its chunks hold about
#: CHUNK_BYTES_GRAM bytes of those (fewer, larger chunks: less per-op overhead).
CHUNK_BYTES_DIRECT = 8 << 20
CHUNK_BYTES_GRAM = 32 << 20
#: The Gram formulation keeps B x N x N floats per chunk; above this N use coordinates.
GRAM_MAX_N = 4096

#: Gram path: when ||mean||^2 exceeds this many times the mean squared deviation of an
#: item's points, the Gram matrix is recomputed from explicitly centred points.
OFFSET_RATIO = 100.0

Method = Literal["auto", "gram", "direct"]


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
        return torch.stack(
            [
                torch.rand(shape, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
                for s in seeds
            ]
        )
    raise TypeError(f"seed must be an int or a sequence of ints, got {type(seed).__name__}")


def _fit_gram(
    x: torch.Tensor, k: int, uniforms: torch.Tensor, tol: float, max_iter: int
) -> tuple[torch.Tensor, ...]:
    """One chunk by the Gram formulation. :input x: [b, N, D]; returns centroids
    [b, K, D], labels [b, N], inertia [b], n_iter [b].

    The Gram matrix of the centred points is obtained from the raw one as
    ``G - r 1^T - 1 r^T + s`` (``r`` its row means, ``s`` its mean): no centred copy of
    ``x`` is made, and ``x`` is read only twice (Gram matmul, final centroids)."""
    b, n, d = x.shape
    gram = gram_matrix(x)  # [b, N, N]
    row_mean = gram.mean(-1)  # [b, N]: x_i . mean
    mean_sq = row_mean.mean(-1)  # [b]: ||mean||^2
    gram.sub_(row_mean.unsqueeze(-1)).sub_(row_mean.unsqueeze(1))
    gram.add_(mean_sq.view(b, 1, 1))  # now the Gram matrix of centred points
    diag = gram.diagonal(dim1=1, dim2=2)  # [b, N]
    _check_finite(diag)
    if bool((mean_sq > OFFSET_RATIO * diag.mean(-1)).any()):
        # A common offset much larger than the spread: centring the Gram matrix after
        # the fact would lose float32 digits, so centre the points first (one copy).
        gram = gram_matrix(x - x.mean(1, keepdim=True))
        diag = gram.diagonal(dim1=1, dim2=2)

    batch = torch.arange(b, device=x.device).unsqueeze(1)  # [b, 1]

    def dist_to_points(ids: torch.Tensor) -> torch.Tensor:  # [b, M] -> [b, N, M]
        # rows of the symmetric Gram matrix (contiguous), seen as columns
        rows = gram[batch, ids]  # [b, M, N]
        dist = diag.gather(1, ids).unsqueeze(-1) + diag.unsqueeze(1) - 2.0 * rows
        return dist.clamp_min_(0).transpose(1, 2)

    tol_abs = tol * diag.sum(-1) / (n * d)  # [b]: tol * mean per-feature variance
    best = None
    for r in range(uniforms.shape[1]):
        ids = kmeans_plusplus(dist_to_points, n, k, uniforms[:, r])  # [b, K]
        a0 = x.new_zeros(b, k, n).scatter_(2, ids.unsqueeze(-1), 1.0)  # [b, K, N]
        a, m_labels, seeded, n_iter = lloyd_gram(gram, a0, tol_abs, max_iter)
        ga = matmul(a, gram)  # [b, K, N], final E step
        dist = diag.unsqueeze(1) - 2.0 * ga + (ga * a).sum(-1, keepdim=True)
        min_dist, labels = dist.clamp_min_(0.0).min(1)  # [b, N]
        inertia = min_dist.double().sum(-1)  # [b]
        best = _keep_best(best, (m_labels, seeded, labels, inertia, n_iter), score=3)
    m_labels, seeded, labels, inertia, n_iter = best
    # The centroids A x, in raw coordinates (rows of A sum to 1), by index_add_.
    return cluster_means(x, m_labels, k, seeded), labels, inertia, n_iter


def _assign_rest(
    xc: torch.Tensor, sq: torch.Tensor, res: DirectResult
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and squared distances for the returned centroids: those of the last E step
    where it was final, a fresh E step elsewhere."""
    labels, min_dist = res.labels.clone(), res.min_dist.clone()
    redo = (~res.final).nonzero()[:, 0]
    if redo.numel():
        md, lab = assign(xc[redo], sq[redo], res.centroids[redo])
        labels[redo], min_dist[redo] = lab, md
    return labels, min_dist


def _fit_direct(
    x: torch.Tensor, k: int, uniforms: torch.Tensor, tol: float, max_iter: int
) -> tuple[torch.Tensor, ...]:
    """One chunk by coordinates (same contract as :func:`_fit_gram`); points are
    centred first (better float32 precision of the distance expansion)."""
    mean = x.mean(1, keepdim=True)  # [b, 1, D]
    xc = x - mean  # [b, N, D]
    b, n, d = xc.shape
    sq = xc.pow(2).sum(-1)  # [b, N]
    _check_finite(sq)
    rows = torch.arange(b, device=xc.device).unsqueeze(1)  # [b, 1]

    def dist_to_points(ids: torch.Tensor) -> torch.Tensor:  # [b, M] -> [b, N, M]
        return sq_distances(xc, xc[rows, ids], x_sqnorm=sq, y_sqnorm=sq.gather(1, ids))

    tol_abs = tol * sq.sum(-1) / (n * d)
    best = None
    for r in range(uniforms.shape[1]):
        ids = kmeans_plusplus(dist_to_points, n, k, uniforms[:, r])  # [b, K]
        res = lloyd_direct(xc, sq, xc[rows, ids], tol_abs, max_iter)
        labels, min_dist = _assign_rest(xc, sq, res)
        best = _keep_best(best, (res.centroids, labels, min_dist.double().sum(-1), res.n_iter))
    c, labels, inertia, n_iter = best
    return c + mean, labels, inertia, n_iter


def _keep_best(best: tuple | None, new: tuple, score: int = 2) -> tuple:
    """Per item, the initialisation with the lower inertia (element ``score``)."""
    if best is None:
        return new
    better = new[score] < best[score]  # [b]
    return tuple(
        torch.where(better.view(-1, *([1] * (o.dim() - 1))), nw, o)
        for nw, o in zip(new, best, strict=True)
    )


def _check_finite(sq: torch.Tensor) -> None:
    if not bool(torch.isfinite(sq).all()):
        raise ValueError(
            "x contains NaN or infinite values (or values whose squares overflow float32)"
        )


def _chunk_size(b: int, n: int, d: int, device: torch.device, gram: bool) -> int:
    if device.type != "cpu":
        return b
    per_item = 4 * n * n if gram else 4 * n * d
    return max(1, min(b, (CHUNK_BYTES_GRAM if gram else CHUNK_BYTES_DIRECT) // per_item))


@torch.no_grad()
def kmeans(
    x: torch.Tensor,
    k: int,
    *,
    seed: int | Sequence[int],
    max_iter: int = 50,
    tol: float = 1e-4,
    n_init: int = 1,
    method: Method = "auto",
) -> KMeansResult:
    """k-means of ``N`` points in ``D`` dimensions, for one item or a batch of items.

    Greedy k-means++ seeding (as scikit-learn), then exact Lloyd iterations until labels
    stop changing, the total squared centroid shift falls to ``tol`` times the item's mean
    per-feature variance (scikit-learn's relative tolerance), or ``max_iter``. Items
    of a batch are clustered together (batched matmuls) but converge individually.
    Empty clusters are re-seeded on the points farthest from their centroid, so
    results never hold NaN. Distances are those of points centred per item (better
    float32 precision); float16/bfloat16 inputs are computed in float32.

    :param x: [N, D] or [B, N, D], floating point, finite
    :param k: number of clusters, ``>= 1``. For ``k >= N`` it is clipped to ``N``: every
        point is its own centroid (``centroids = x``, ``indices = arange(N)``,
        inertia 0), so ``K = min(k, N)``. With fewer than ``k`` distinct points some
        centroids are duplicates (their clusters may be empty; indices stay valid).
    :param seed: an int (every item uses the same random stream, so item ``b`` of a
        batch gives exactly ``kmeans(x[b], k, seed=seed)``), or one int per item
    :param max_iter: at most this many Lloyd iterations per initialisation, ``>= 1``
    :param tol: relative tolerance on the centroid shift, ``>= 0``
    :param n_init: initialisations per item; the one with the lowest inertia is kept
    :param method: ``"gram"`` (distances from the Gram matrix ``x x^T``: one
        ``N x N x D`` matmul, then ``O(N^2 K)`` per iteration), ``"direct"``
        (coordinates, ``O(N D K)`` per iteration) or ``"auto"`` (gram when
        ``N <= D`` and ``N <= 4096``). Both are exact; results agree to rounding.
        On CPU the products run on NumPy's BLAS (see
        :mod:`collab_infer.clustering.blas`), capped at ``torch.get_num_threads()``.
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
    if method not in ("auto", "gram", "direct"):
        raise ValueError(f"method must be 'auto', 'gram' or 'direct', got {method!r}")
    single = x.dim() == 2
    xb = (x.unsqueeze(0) if single else x).detach()  # [B, N, D]
    b, n, d = xb.shape
    if b < 1 or n < 1 or d < 1:
        raise ValueError(f"x must hold at least one point of dimension >= 1, got {tuple(x.shape)}")
    kk = min(k, n)
    uniforms = _uniforms(seed, b, n_init, kk, n_local_trials(kk))  # [B, n_init, K, L]

    if k >= n:  # every point its own centroid
        if not bool(torch.isfinite(xb).all()):
            _check_finite(torch.tensor([float("nan")]))
        result = KMeansResult(
            centroids=xb.clone(),
            indices=torch.arange(n, device=x.device).expand(b, n).clone(),
            inertia=torch.zeros(b, dtype=torch.float64, device=x.device),
            n_iter=torch.zeros(b, dtype=torch.long, device=x.device),
        )
        return _squeeze(result) if single else result

    if method == "auto":
        method = "gram" if n <= d and n <= GRAM_MAX_N else "direct"
    fit = _fit_gram if method == "gram" else _fit_direct
    work_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    step = _chunk_size(b, n, d, x.device, method == "gram")
    parts = []
    with blas_threads():
        for s in range(0, b, step):
            chunk = xb[s : s + step].to(work_dtype)  # [c, N, D]
            c, labels, inertia, n_iter = fit(
                chunk, kk, uniforms[s : s + step].to(x.device), tol, max_iter
            )
            parts.append((c.to(x.dtype), labels, inertia, n_iter))
    result = KMeansResult(*(torch.cat(p) for p in zip(*parts, strict=True)))
    return _squeeze(result) if single else result


def _squeeze(r: KMeansResult) -> KMeansResult:
    return KMeansResult(r.centroids[0], r.indices[0], r.inertia[0], r.n_iter[0])
