"""``random``: keep k tokens chosen uniformly at random (the paper's baseline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from codec.payload import SubsetPayload
from collab_infer.reducers.base import Reducer

__all__ = ["RandomSelect", "subset_payloads"]


def subset_payloads(tokens: torch.Tensor, positions: torch.Tensor) -> list[SubsetPayload]:
    """One :class:`SubsetPayload` per image from kept positions.

    :input tokens: [B, N, D]; :input positions: [B, k] int64, any order
    :output: B payloads with positions sorted (original token order)
    """
    b, n, d = tokens.shape
    pos = positions.sort(-1).values.to(tokens.device)  # [B, k]
    vectors = tokens.gather(1, pos.unsqueeze(-1).expand(b, pos.shape[1], d))  # [B, k, D]
    vectors, pos = vectors.detach().cpu(), pos.cpu()
    return [
        SubsetPayload(vectors=v, positions=p, n_tokens=n) for v, p in zip(vectors, pos, strict=True)
    ]


@dataclass(frozen=True)
class RandomSelect(Reducer):
    """Keep ``k`` of the N tokens uniformly at random, without replacement, independently
    per image; a :class:`~codec.payload.SubsetPayload` with sorted positions.

    Image ``b`` of a batch uses row ``b`` of one ``[B, N]`` uniform draw from a
    generator seeded with ``seed``: the kept positions depend on the seed and on the
    image's place in the batch, not on the token values.

    >>> p = RandomSelect()(torch.randn(1, 10, 4), 3, seed=0)[0]
    >>> p.positions.shape, p.n_tokens
    (torch.Size([3]), 10)
    """

    name: ClassVar[str] = "random"

    def reduce(self, tokens, k, *, seed, grid):  # tokens [B, N, D]
        b, n, _ = tokens.shape
        g = torch.Generator().manual_seed(seed)
        scores = torch.rand(b, n, generator=g)  # [B, N]
        return subset_payloads(tokens, scores.topk(k, dim=-1).indices)
