"""``topk_norm``: keep the k tokens with the largest L2 norm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from collab_infer.reducers.base import Reducer
from collab_infer.reducers.random_select import subset_payloads

__all__ = ["TopKNorm"]


@dataclass(frozen=True)
class TopKNorm(Reducer):
    """Keep the ``k`` tokens of largest L2 norm (ties: the earlier position); a
    :class:`~codec.payload.SubsetPayload` in original order. Deterministic: ``seed`` is
    accepted for the common interface and unused.

    >>> x = torch.tensor([[[1.0], [5.0], [2.0], [4.0]]])
    >>> TopKNorm()(x, 2, seed=0)[0].positions
    tensor([1, 3])
    """

    name: ClassVar[str] = "topk_norm"

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        norms = torch.linalg.vector_norm(tokens.float(), dim=-1)  # [B, N]
        order = norms.argsort(dim=-1, descending=True, stable=True)  # [B, N]
        return subset_payloads(tokens, order[:, :k])
