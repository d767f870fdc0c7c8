"""``full``: send every token (the uncompressed baseline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from codec.payload import FullPayload
from collab_infer.reducers.base import Reducer

__all__ = ["Full"]


@dataclass(frozen=True)
class Full(Reducer):
    """All N tokens as a :class:`~codec.payload.FullPayload`; ``k`` and ``seed`` are ignored.

    >>> import torch
    >>> Full()(torch.zeros(2, 4, 3), None, seed=0)[0].vectors.shape
    torch.Size([4, 3])
    """

    name: ClassVar[str] = "full"
    uses_k: ClassVar[bool] = False

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        return [FullPayload(vectors=t.detach().cpu().clone()) for t in tokens]
