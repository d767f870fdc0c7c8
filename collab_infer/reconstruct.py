"""Server side: rebuild a token sequence from a (possibly concealed) payload.

- VQ: each token becomes its centroid, ``centroids[indices]`` (the paper): ``[N, D]``.
- subset, ``subset_mode="drop"``: the kept vectors in original order: ``[k, D]``.
- subset, ``subset_mode="fill"``: length ``N``; kept positions hold their vectors and
  missing ones the mean of the kept vectors (``fill="mean"``) or zeros
  (``fill="zeros"``). With no kept vector at all the mean is undefined and zeros are
  used.
- full: the vectors themselves: ``[N, D]``.

:func:`token_positions` gives the grid positions that go with a rebuilt sequence: a
dropped subset's kept positions (``[k]``, indices 0..N-1, strictly increasing), which
the VLM's ``generate(..., positions=)`` needs to place the ``k`` tokens on the encoder's
grid (Qwen2.5-VL's M-RoPE, SmolVLM, LLaVA-OneVision); ``None`` for every length-N
sequence (its positions are ``0..N-1``).

Lost parts are concealed by the codec (``codec.conceal``) before this step; every
payload that passed construction is rebuilt without error, within a budget checked
*before* allocating: with ``expect`` (a :class:`codec.Expected`, the model's N and D)
the payload must have the model's N and D, so the output is at most N x D; without it
the output may hold at most :data:`MAX_ELEMENTS` values. Either failure is a
:class:`codec.PayloadError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from codec.errors import PayloadError
from codec.expect import Expected
from codec.payload import FullPayload, Payload, SubsetPayload, VQPayload

__all__ = [
    "SUBSET_MODES",
    "FILLS",
    "MAX_ELEMENTS",
    "reconstruct",
    "reconstruct_batch",
    "token_positions",
    "token_positions_batch",
]

SUBSET_MODES = ("fill", "drop")
FILLS = ("mean", "zeros")
#: Most values (N' x D) an output may hold when no ``expect`` is given: 2**26, i.e.
#: 256 MiB at float32 (PaliGemma-3B/224 needs 256 x 2048 = 2**19).
MAX_ELEMENTS = 2**26


def _check_budget(payload: Payload, subset_mode: str, expect: Expected | None) -> None:
    """:class:`PayloadError` before allocating when the output would exceed the budget."""
    if expect is not None:
        if not isinstance(expect, Expected):
            raise TypeError(f"expect must be a codec.Expected, got {type(expect).__name__}")
        expect.check_payload(payload)
        return
    dim = payload.centroids.shape[1] if isinstance(payload, VQPayload) else payload.vectors.shape[1]
    length = payload.k if isinstance(payload, SubsetPayload) and subset_mode == "drop" else None
    n_out = payload.n_tokens if length is None else length
    if n_out * int(dim) > MAX_ELEMENTS:
        raise PayloadError(
            f"payload would rebuild to {n_out} x {int(dim)} values, more than MAX_ELEMENTS="
            f"{MAX_ELEMENTS}; pass expect=codec.Expected(n_tokens, dim) with the model's sizes"
        )


def _check_options(subset_mode: str, fill: str) -> None:
    if subset_mode not in SUBSET_MODES:
        raise ValueError(f"subset_mode must be one of {SUBSET_MODES}, got {subset_mode!r}")
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")


def reconstruct(
    payload: Payload,
    *,
    subset_mode: Literal["fill", "drop"] = "fill",
    fill: Literal["mean", "zeros"] = "mean",
    expect: Expected | None = None,
) -> torch.Tensor:
    """The token sequence the server feeds to the language model.

    :param payload: a :class:`VQPayload`, :class:`SubsetPayload` or :class:`FullPayload`
    :param subset_mode: for subset payloads, ``"fill"`` (length N) or ``"drop"`` (length k)
    :param fill: for ``subset_mode="fill"``, what missing positions hold
    :param expect: the model's sizes (:class:`codec.Expected`); the payload must match
    :output: [N', D], the payload's dtype (``N' = k`` for a dropped subset, else N)
    :raises PayloadError: the payload does not match ``expect``, or (without it) would
        rebuild to more than :data:`MAX_ELEMENTS` values

    >>> p = SubsetPayload(torch.tensor([[1.0], [3.0]]), torch.tensor([0, 2]), n_tokens=4)
    >>> reconstruct(p)[:, 0].tolist(), reconstruct(p, subset_mode="drop")[:, 0].tolist()
    ([1.0, 2.0, 3.0, 2.0], [1.0, 3.0])
    >>> reconstruct(VQPayload(torch.tensor([[0.0], [9.0]]), torch.tensor([1, 0, 1])))[:, 0]
    tensor([9., 0., 9.])
    """
    _check_options(subset_mode, fill)
    if isinstance(payload, VQPayload | FullPayload | SubsetPayload):
        _check_budget(payload, subset_mode, expect)
    if isinstance(payload, VQPayload):
        return payload.centroids[payload.indices]  # [N, D]
    if isinstance(payload, FullPayload):
        return payload.vectors.clone()  # [N, D]
    if isinstance(payload, SubsetPayload):
        v = payload.vectors  # [k, D]
        if subset_mode == "drop":
            return v.clone()
        if fill == "mean" and v.shape[0] > 0:
            base = v.mean(0, keepdim=True)  # [1, D]
        else:
            base = v.new_zeros(1, v.shape[1])
        out = base.expand(payload.n_tokens, v.shape[1]).clone()  # [N, D]
        out[payload.positions] = v
        return out
    raise TypeError(
        f"payload must be a VQPayload, SubsetPayload or FullPayload, got {type(payload).__name__}"
    )


def reconstruct_batch(
    payloads: Sequence[Payload],
    *,
    subset_mode: Literal["fill", "drop"] = "fill",
    fill: Literal["mean", "zeros"] = "mean",
    expect: Expected | None = None,
) -> list[torch.Tensor]:
    """:func:`reconstruct` for each payload: a list of [N'_i, D] tensors (lengths may
    differ, e.g. dropped subsets; the VLM's ``generate`` accepts that). Every payload is
    checked against the budget before any is rebuilt."""
    _check_options(subset_mode, fill)
    for p in payloads:
        if isinstance(p, VQPayload | FullPayload | SubsetPayload):
            _check_budget(p, subset_mode, expect)
    return [reconstruct(p, subset_mode=subset_mode, fill=fill, expect=expect) for p in payloads]


def token_positions(
    payload: Payload, *, subset_mode: Literal["fill", "drop"] = "fill"
) -> torch.Tensor | None:
    """The grid positions of :func:`reconstruct`'s output with the same ``subset_mode``.

    :output: ``[k]`` int64, the kept positions (0..N-1, strictly increasing) of a
        :class:`SubsetPayload` rebuilt with ``subset_mode="drop"``; ``None`` otherwise (the
        output has all N tokens in order)

    >>> p = SubsetPayload(torch.tensor([[1.0], [3.0]]), torch.tensor([0, 2]), n_tokens=4)
    >>> token_positions(p, subset_mode="drop").tolist(), token_positions(p)
    ([0, 2], None)
    """
    if subset_mode not in SUBSET_MODES:
        raise ValueError(f"subset_mode must be one of {SUBSET_MODES}, got {subset_mode!r}")
    if isinstance(payload, SubsetPayload) and subset_mode == "drop":
        return payload.positions.detach().to("cpu", torch.int64).clone()
    return None


def token_positions_batch(
    payloads: Sequence[Payload], *, subset_mode: Literal["fill", "drop"] = "fill"
) -> list[torch.Tensor | None]:
    """:func:`token_positions` for each payload (the ``positions=`` of ``VLM.generate``)."""
    return [token_positions(p, subset_mode=subset_mode) for p in payloads]
