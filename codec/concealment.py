"""Concealment: turn a partly lost payload into a complete one the server can use.

Choices (all vectorised, none can fail on any :class:`~codec.packets.Reassembled`):

- Lost vectors (VQ centroids, full-payload vectors), ``vector_fill``:
  ``"mean"`` the mean of the received rows (zeros when none arrived) or ``"zeros"``.
- Lost VQ indices, ``index_fill``: ``"mode"`` the most frequent received index
  (ties: the smallest; 0 when none arrived) or ``"neighbor"`` the previous received
  token's index (the next one for leading gaps; 0 when none arrived).
- Lost subset vectors, ``subset_lost``: ``"drop"`` removes them (the server then
  treats their tokens as not kept), ``"fill"`` keeps them, filled as ``vector_fill``
  says, at their placeholder positions (exact when the position arrived with another
  fragment, otherwise spread evenly inside the gap it must lie in).
- Nothing arrived at all (``payload is None``): an all-zero :class:`FullPayload` of
  N x D from ``expect`` (or ``n_tokens`` and ``dim``; the server knows its model's N
  and D), else :class:`~codec.errors.PayloadError` saying so.

With ``expect`` (:class:`codec.Expected`) a payload whose N, D or row count is not the
receiver's is refused (:class:`~codec.errors.PayloadError`) before anything is filled.
"""

from __future__ import annotations

from typing import Literal

import torch

from codec.errors import PayloadError
from codec.expect import Expected
from codec.payload import FullPayload, Payload, SubsetPayload, VQPayload
from codec.reassembly import Reassembled

__all__ = ["conceal", "VECTOR_FILLS", "INDEX_FILLS", "SUBSET_LOST"]

VECTOR_FILLS = ("mean", "zeros")
INDEX_FILLS = ("mode", "neighbor")
SUBSET_LOST = ("drop", "fill")


def _check(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}; got {value!r}")


def _fill_vectors(x: torch.Tensor, missing: torch.Tensor, how: str) -> torch.Tensor:
    """Rows [R, D] with the ``missing`` [R] rows replaced (mean of the others or zeros)."""
    if not bool(missing.any()):
        return x
    received = x[~missing]
    fill = received.mean(0) if how == "mean" and received.shape[0] else torch.zeros(x.shape[1])
    return torch.where(missing[:, None], fill.to(x.dtype), x)


def _fill_indices(idx: torch.Tensor, missing: torch.Tensor, k: int, how: str) -> torch.Tensor:
    """Indices [N] with the ``missing`` [N] ones replaced."""
    if not bool(missing.any()):
        return idx
    ok = ~missing
    if not bool(ok.any()):
        return torch.zeros_like(idx)
    if how == "mode":
        mode = torch.bincount(idx[ok], minlength=k).argmax()
        return torch.where(missing, mode, idx)
    n = idx.shape[0]
    pos = torch.arange(n)
    prev = torch.cummax(torch.where(ok, pos, -1), 0).values
    nxt = torch.flip(torch.cummin(torch.flip(torch.where(ok, pos, n), [0]), 0).values, [0])
    src = torch.where(prev >= 0, prev, nxt)
    return idx[src]


def conceal(
    reassembled: Reassembled,
    vector_fill: Literal["mean", "zeros"] = "mean",
    index_fill: Literal["mode", "neighbor"] = "mode",
    subset_lost: Literal["drop", "fill"] = "drop",
    *,
    n_tokens: int | None = None,
    dim: int | None = None,
    expect: Expected | None = None,
) -> Payload:
    """A complete payload from what :func:`codec.reassemble` recovered (see the module
    docstring for what each choice does).

    :param reassembled: output of :func:`codec.reassemble`
    :param vector_fill: ``"mean"`` or ``"zeros"``
    :param index_fill: ``"mode"`` or ``"neighbor"``
    :param subset_lost: ``"drop"`` or ``"fill"``
    :param n_tokens: N, used only when nothing arrived (ignored with ``expect``)
    :param dim: D, used only when nothing arrived (ignored with ``expect``)
    :param expect: what the receiver accepts: the payload must match it, and an all-zero
        N x D payload stands in when nothing arrived
    :raises PayloadError: nothing arrived and no N, D given; or the payload does not
        match ``expect``
    """
    _check("vector_fill", vector_fill, VECTOR_FILLS)
    _check("index_fill", index_fill, INDEX_FILLS)
    _check("subset_lost", subset_lost, SUBSET_LOST)
    if not isinstance(reassembled, Reassembled):
        raise TypeError(
            f"reassembled must be a codec.Reassembled, got {type(reassembled).__name__}"
        )
    if expect is not None and not isinstance(expect, Expected):
        raise TypeError(f"expect must be a codec.Expected, got {type(expect).__name__}")
    p = reassembled.payload
    missing = reassembled.missing_vectors
    if p is None:
        if expect is None:
            if n_tokens is None or dim is None:
                raise PayloadError(
                    "nothing of the payload arrived; pass expect=codec.Expected(n_tokens, dim) "
                    "(or n_tokens and dim) to conceal() to get an all-zero payload"
                )
            expect = Expected(n_tokens=n_tokens, dim=dim)  # checks both
        return FullPayload(torch.zeros(expect.n_tokens, expect.dim))
    if expect is not None:
        expect.check_payload(p, "reassembled payload")
    rows = p.centroids.shape[0] if isinstance(p, VQPayload) else p.vectors.shape[0]
    if tuple(missing.shape) != (rows,) or tuple(reassembled.missing_indices.shape) != (p.n_tokens,):
        raise ValueError(
            f"reassembled masks have shapes {tuple(missing.shape)} and "
            f"{tuple(reassembled.missing_indices.shape)}; expected ({rows},) and ({p.n_tokens},)"
        )
    if isinstance(p, VQPayload):
        centroids = _fill_vectors(p.centroids, missing, vector_fill)
        indices = _fill_indices(p.indices, reassembled.missing_indices, p.k, index_fill)
        return VQPayload(centroids, indices)
    if isinstance(p, FullPayload):
        return FullPayload(_fill_vectors(p.vectors, missing, vector_fill))
    if subset_lost == "drop":
        keep = ~missing
        return SubsetPayload(p.vectors[keep], p.positions[keep], p.n_tokens)
    return SubsetPayload(_fill_vectors(p.vectors, missing, vector_fill), p.positions, p.n_tokens)
