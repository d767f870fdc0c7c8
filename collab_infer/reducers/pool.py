"""``pool``: average-pool the token grid [h, w] down to about k cells.

The output is a :class:`~codec.payload.VQPayload`: the ``K = h' * w'`` pooled vectors
are the "centroids" and each original token's index is its pooling cell, so the
server rebuilds a full-length sequence (each token replaced by its cell's mean), the
same way as for k-means VQ. The indices are a fixed function of the grid, so a codec
could in principle omit them; they are sent like any VQ payload's (counted bits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from collab_infer.clustering.lloyd import cluster_means
from collab_infer.reducers.base import Reducer
from collab_infer.reducers.kmeans_vq import vq_payloads

__all__ = ["Pool", "cell_indices", "pool_grid"]


def pool_grid(h: int, w: int, k: int) -> tuple[int, int]:
    """Output grid ``(h', w')`` with ``h' <= h``, ``w' <= w``: the product ``h' * w'``
    closest to ``k``; among those, the aspect ratio ``h'/w'`` closest to ``h/w`` (in
    log scale); then the smaller ``h'``.

    >>> pool_grid(16, 16, 8), pool_grid(16, 16, 16), pool_grid(16, 16, 10), pool_grid(24, 12, 8)
    ((2, 4), (4, 4), (2, 5), (4, 2))
    """
    best_key, best = None, (1, 1)
    for hp in range(1, h + 1):
        # only the two widths around k / hp can be closest for this h'
        for wp in {max(1, min(w, k // hp)), max(1, min(w, -(-k // hp)))}:
            key = (abs(hp * wp - k), abs(math.log((hp / wp) / (h / w))), hp)
            if best_key is None or key < best_key:
                best_key, best = key, (hp, wp)
    return best


def cell_indices(h: int, w: int, hp: int, wp: int) -> torch.Tensor:
    """Pooling cell of each token of a row-major ``h x w`` grid: rows are split into
    ``hp`` contiguous bands of near-equal size (``floor(r * hp / h)``), columns into
    ``wp``; a partition, every cell non-empty when ``hp <= h`` and ``wp <= w``.

    :output: [h * w] int64 in ``[0, hp * wp)``

    >>> cell_indices(2, 4, 1, 2).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1]
    """
    rows = torch.arange(h) * hp // h  # [h]
    cols = torch.arange(w) * wp // w  # [w]
    return (rows.unsqueeze(1) * wp + cols.unsqueeze(0)).reshape(-1)  # [h * w]


@dataclass(frozen=True)
class Pool(Reducer):
    """Average pooling of the token grid to ``K = h' * w'`` cells (``h' * w'`` closest to
    ``k``, see :func:`pool_grid`), as a VQ payload: cell means [K, D] + cell index per
    token [N]. Needs ``grid=(h, w)``; without it a square grid is assumed when N is a
    perfect square. Deterministic: ``seed`` is unused.

    >>> p = Pool()(torch.arange(16.0).view(1, 16, 1), 4, seed=0, grid=(4, 4))[0]
    >>> p.centroids[:, 0].tolist(), p.indices.view(4, 4)[0].tolist()
    ([2.5, 4.5, 10.5, 12.5], [0, 0, 1, 1])
    """

    name: ClassVar[str] = "pool"

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        b, n, _ = tokens.shape
        if grid is None:
            side = math.isqrt(n)
            if side * side != n:
                raise ValueError(
                    f"pool needs grid=(h, w): N={n} tokens is not a square grid; "
                    "pass the model's grid (e.g. VLM.grid)"
                )
            grid = (side, side)
        hp, wp = pool_grid(*grid, k)
        cells = cell_indices(*grid, hp, wp).to(tokens.device)  # [N]
        labels = cells.expand(b, n)  # [B, N]
        means = cluster_means(tokens, labels, hp * wp)  # [B, K, D]
        return vq_payloads(means, labels)
