"""``kmeans``: the paper's vector quantisation of the visual tokens.

K centroids by k-means over each image's N tokens (batched over images), plus one
centroid index per token; the server replaces each token by its centroid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from codec.payload import VQPayload
from collab_infer.clustering import kmeans
from collab_infer.reducers.base import Reducer

__all__ = ["KMeansVQ", "vq_payloads"]


def vq_payloads(centroids: torch.Tensor, indices: torch.Tensor) -> list[VQPayload]:
    """One :class:`VQPayload` per image. :input centroids: [B, K, D]; :input indices: [B, N]"""
    c, i = centroids.detach().cpu(), indices.cpu()
    return [VQPayload(centroids=cb, indices=ib) for cb, ib in zip(c, i, strict=True)]


@dataclass(frozen=True)
class KMeansVQ(Reducer):
    """k-means VQ: ``k`` centroids [k, D] + indices [N] per image (a
    :class:`~codec.payload.VQPayload`), by :func:`collab_infer.kmeans` (greedy
    k-means++ + Lloyd, batched over the images).

    Every image uses the same random stream from ``seed``, so an image's payload
    depends only on its tokens and the seed, not on the rest of its batch.

    :param max_iter: Lloyd iterations at most
    :param tol: relative tolerance on the centroid shift (scikit-learn's)
    :param n_init: k-means++ initialisations per image (lowest inertia kept)

    >>> x = torch.randn(2, 16, 4, generator=torch.Generator().manual_seed(0))
    >>> p = KMeansVQ()(x, 3, seed=0)[0]
    >>> p.centroids.shape, p.indices.shape
    (torch.Size([3, 4]), torch.Size([16]))
    """

    name: ClassVar[str] = "kmeans"
    max_iter: int = 50
    tol: float = 1e-4
    n_init: int = 1

    def __post_init__(self) -> None:
        for field in ("max_iter", "n_init"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{field} must be an int >= 1, got {v!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float)) or self.tol < 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        r = kmeans(tokens, k, seed=seed, max_iter=self.max_iter, tol=self.tol, n_init=self.n_init)
        return vq_payloads(r.centroids, r.indices)
