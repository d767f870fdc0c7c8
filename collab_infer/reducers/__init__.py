"""Token reducers: tokens [B, N, D] -> one codec payload per image, by registry name.

``get(name)`` returns the reducer class, ``make(name, **params)`` an instance;
calling it as ``reducer(tokens, k, seed=..., grid=...)`` gives ``list[Payload]``.

===========  ==================================================  ============
name         method                                              payload
===========  ==================================================  ============
full         every token                                         FullPayload
random       k tokens uniformly at random (the paper's baseline)  SubsetPayload
kmeans       k-means VQ: k centroids + N indices (the paper)     VQPayload
topk_norm    the k tokens of largest L2 norm                     SubsetPayload
pool         average pooling of the grid to ~k cells             VQPayload
dpc_knn      density-peaks kNN clustering, k cluster means       VQPayload
===========  ==================================================  ============

Importing this package is light (no torch): classes load on first ``get``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collab_infer.reducers.budget import budget_to_k, check_k
from collab_infer.registry import Registry

if TYPE_CHECKING:
    from collab_infer.reducers.base import Reducer

__all__ = ["REDUCERS", "budget_to_k", "check_k", "get", "make", "names"]

REDUCERS: Registry[type[Reducer]] = Registry("reducer")
REDUCERS.add("full", "collab_infer.reducers.full:Full")
REDUCERS.add("random", "collab_infer.reducers.random_select:RandomSelect")
REDUCERS.add("kmeans", "collab_infer.reducers.kmeans_vq:KMeansVQ")
REDUCERS.add("topk_norm", "collab_infer.reducers.topk_norm:TopKNorm")
REDUCERS.add("pool", "collab_infer.reducers.pool:Pool")
REDUCERS.add("dpc_knn", "collab_infer.reducers.dpc_knn:DPCKNN")


def get(name: str) -> type[Reducer]:
    """The reducer class registered as ``name`` (unknown names: did-you-mean error)."""
    return REDUCERS.get(name)


def names() -> list[str]:
    """Registered reducer names, sorted."""
    return REDUCERS.names()


def make(name: str, **params: Any) -> Reducer:
    """An instance of reducer ``name`` with ``params``; unknown parameters are an error
    listing the valid ones.

    >>> make("kmeans", n_init=2).describe()
    {'name': 'kmeans', 'max_iter': 50, 'tol': 0.0001, 'n_init': 2}
    """
    return REDUCERS.build(name, **params)
