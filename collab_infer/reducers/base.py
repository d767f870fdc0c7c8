"""The reducer interface: tokens [B, N, D] -> one payload per image."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch

from codec.payload import Payload
from collab_infer.reducers.budget import check_k

__all__ = ["Reducer", "check_grid", "check_tokens"]


def check_tokens(tokens: object) -> torch.Tensor:
    """``tokens`` as a [B, N, D] floating tensor ([N, D] becomes a batch of one)."""
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dim() == 2:
        tokens = tokens.unsqueeze(0)
    if tokens.dim() != 3:
        raise ValueError(f"tokens must have shape [B, N, D] (or [N, D]), got {tuple(tokens.shape)}")
    if not tokens.is_floating_point():
        raise ValueError(f"tokens must be a floating-point tensor, got {tokens.dtype}")
    if 0 in tokens.shape:
        raise ValueError(f"tokens must not be empty, got shape {tuple(tokens.shape)}")
    return tokens


def check_grid(grid: object, n_tokens: int) -> tuple[int, int] | None:
    """``grid`` as ``(h, w)`` with ``h * w == n_tokens``, or None."""
    if grid is None:
        return None
    if (
        not isinstance(grid, (tuple, list))
        or len(grid) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in grid)
    ):
        raise ValueError(f"grid must be a pair of positive ints (h, w), got {grid!r}")
    h, w = grid
    if h * w != n_tokens:
        raise ValueError(f"grid {h}x{w} holds {h * w} tokens but the tokens have N={n_tokens}")
    return int(h), int(w)


class Reducer(ABC):
    """Base of all reducers: validation in :meth:`__call__`, the method in :meth:`reduce`.

    Subclasses are frozen dataclasses of their parameters with a class attribute
    ``name`` (the registry name) and implement :meth:`reduce`.
    """

    name: ClassVar[str]
    #: False for reducers that keep everything and ignore ``k`` (``full``)
    uses_k: ClassVar[bool] = True

    def __call__(
        self,
        tokens: torch.Tensor,
        k: int | None,
        *,
        seed: int,
        grid: tuple[int, int] | None = None,
    ) -> list[Payload]:
        """Reduce each image's tokens to a payload.

        :input tokens: [B, N, D] float (an [N, D] tensor is a batch of one)
        :param k: tokens / centroids to keep per image, ``1 <= k <= N`` (ignored by
            ``full``; use :func:`collab_infer.reducers.budget_to_k` for a ratio)
        :param seed: seeds the reducer's randomness (deterministic for a seed)
        :param grid: ``(h, w)`` spatial layout of the N tokens, row-major
        :output: a list of B payloads (CPU tensors)
        """
        x = check_tokens(tokens)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        n = x.shape[1]
        kk = check_k(k, n) if self.uses_k else n
        with torch.no_grad():
            return self.reduce(x, kk, seed=seed, grid=check_grid(grid, n))

    @abstractmethod
    def reduce(
        self, tokens: torch.Tensor, k: int, *, seed: int, grid: tuple[int, int] | None
    ) -> list[Payload]:
        """The method itself, on validated inputs (tokens [B, N, D], 1 <= k <= N)."""

    def describe(self) -> dict[str, Any]:
        """Name and every parameter, for result rows."""
        params = dataclasses.asdict(self) if dataclasses.is_dataclass(self) else {}
        return {"name": self.name, **params}
