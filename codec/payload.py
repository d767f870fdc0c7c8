"""Payload kinds: what a reducer produces and what the codec turns into bytes.

Three kinds cross the edge -> server boundary:

- :class:`VQPayload`: ``K`` centroid vectors ``[K, D]`` plus one centroid index per
  visual token ``[N]`` (the paper's k-means vector quantisation).
- :class:`SubsetPayload`: ``k`` kept token vectors ``[k, D]`` plus their positions
  among the ``N`` tokens (random / top-k / pooling style reducers).
- :class:`FullPayload`: all ``N`` token vectors ``[N, D]`` (the baseline).

They are frozen dataclasses of CPU tensors; construction validates shapes and
ranges and raises :class:`ValueError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["VQPayload", "SubsetPayload", "FullPayload", "Payload", "payload_kind"]


def _check_vectors(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [rows, D], got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check_index_tensor(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(x.shape)}")
    if x.dtype.is_floating_point or x.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got {x.dtype}")


@dataclass(frozen=True, eq=False)
class VQPayload:
    """K centroids and one centroid index per token.

    :param centroids: [K, D], floating point
    :param indices: [N], integer in [0, K)
    """

    centroids: torch.Tensor
    indices: torch.Tensor

    def __post_init__(self) -> None:
        _check_vectors("centroids", self.centroids)
        _check_index_tensor("indices", self.indices)
        k = self.centroids.shape[0]
        if k < 1:
            raise ValueError("centroids must hold at least one vector (K >= 1)")
        if self.indices.numel() and (int(self.indices.min()) < 0 or int(self.indices.max()) >= k):
            raise ValueError(f"indices must lie in [0, K={k})")

    @property
    def n_tokens(self) -> int:
        return int(self.indices.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


@dataclass(frozen=True, eq=False)
class SubsetPayload:
    """k kept token vectors and their (strictly increasing) positions among N tokens.

    :param vectors: [k, D], floating point
    :param positions: [k], integer, strictly increasing, in [0, n_tokens)
    :param n_tokens: N, the length of the original token sequence
    """

    vectors: torch.Tensor
    positions: torch.Tensor
    n_tokens: int

    def __post_init__(self) -> None:
        _check_vectors("vectors", self.vectors)
        _check_index_tensor("positions", self.positions)
        if int(self.n_tokens) < 1:
            raise ValueError(f"n_tokens must be >= 1, got {self.n_tokens}")
        if self.positions.shape[0] != self.vectors.shape[0]:
            raise ValueError(
                f"positions ({self.positions.shape[0]}) and vectors "
                f"({self.vectors.shape[0]}) must have the same length"
            )
        if self.positions.numel():
            if int(self.positions.min()) < 0 or int(self.positions.max()) >= self.n_tokens:
                raise ValueError(f"positions must lie in [0, n_tokens={self.n_tokens})")
            if self.positions.numel() > 1 and not bool(
                (self.positions[1:] > self.positions[:-1]).all()
            ):
                raise ValueError("positions must be strictly increasing")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True, eq=False)
class FullPayload:
    """All N token vectors.

    :param vectors: [N, D], floating point
    """

    vectors: torch.Tensor

    def __post_init__(self) -> None:
        _check_vectors("vectors", self.vectors)

    @property
    def n_tokens(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def k(self) -> int:
        return self.n_tokens


Payload = VQPayload | SubsetPayload | FullPayload


def payload_kind(payload: Payload) -> str:
    """Name of a payload's kind: ``"vq"``, ``"subset"`` or ``"full"``."""
    if isinstance(payload, VQPayload):
        return "vq"
    if isinstance(payload, SubsetPayload):
        return "subset"
    if isinstance(payload, FullPayload):
        return "full"
    raise TypeError(f"not a payload: {type(payload).__name__}")
