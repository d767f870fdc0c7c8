"""Channel-use budgets: each scheme fills a fixed number of complex channel uses per image.

A sweep config may fix ``budget: {channel_uses: B}`` (one value or a list, swept). Every
scheme of that sweep then fills the budget at its own channel instead of sweeping its own
knobs; its knobs become *candidates*:

- a **digital token scheme** (reducer -> codec -> packets -> a coded link) tries every
  ``(K, number format, index coding)`` of the scheme (``budgets`` gives the K candidates;
  none given: every K in 1..N), encodes the real payload of every image, packetizes it
  and asks the row's channel for ``planned_channel_uses(packets)`` (deterministic first-
  transmission cost: coding, padding, CRC, pilots included; see
  :meth:`channel.base.Channel.planned_channel_uses`). It picks the candidate with the
  most payload bits whose *largest* per-image cost is ``<= B`` (ties: the larger K);
- an **image codec** (JPEG / WebP / AVIF / JPEG XL) picks the largest quality of its
  ``qualities`` whose largest per-image cost fits;
- **analog** (one row per K) picks its bandwidth ratio ``r`` (complex uses per real
  value). Its planned cost is ``U(r) = ceil(r n) + S`` per image, with ``n`` real values
  sent and ``S`` the side information's coded-link uses, so with ``n = U(2) - U(1)``
  and ``S = U(1) - n`` (read off the link's own plan, no layout assumed here),
  ``r = min over images of floor(B - S) / n``: every image fits, the row fills ``B`` to
  within the spread of ``S``.

One choice per row (every image sends the same K / format / quality / ratio), made from
the real bytes; the row records ``budget_channel_uses``, the choice (``k``,
``number_format``, ``index_coding``, ``quality``, ``channel_params.bandwidth_ratio``),
``budget_planned_uses`` (the largest planned per-image cost of the choice) and
``budget_fit``. When no candidate fits, ``budget_fit`` says so and names the smallest
cost; the row is then recorded with every image lost (nothing sent), never a crash.

>>> fit = fit_largest([1, 2, 4, 8], cost=lambda k: 300.0 * k, size=lambda k: k, budget=1000)
>>> fit.choice, fit.planned_uses, fit.fits
(2, 600.0, True)
>>> fit_largest([4, 8], cost=lambda k: 300.0 * k, size=lambda k: k, budget=1000).note
'no candidate fits 1000 channel uses (the smallest needs 1200)'
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from collab_infer.errors import CollabInferError

if TYPE_CHECKING:  # pragma: no cover
    from experiments.config import RowSpec

__all__ = [
    "ChannelUseBudget",
    "Fit",
    "analog_ratio",
    "fit_largest",
    "fit_row",
]

C = TypeVar("C")


class ChannelUseBudget(BaseModel):
    """``budget:`` of a sweep config: complex channel uses per image (one value or a
    list to sweep; each finite and > 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_uses: list[float]

    @field_validator("channel_uses", mode="before")
    @classmethod
    def _as_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("channel_uses")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("give at least one channel-use budget")
        bad = [x for x in v if not math.isfinite(x) or x <= 0]
        if bad:
            raise ValueError(f"channel-use budgets must be finite and > 0, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"channel-use budgets must be unique, got {v}")
        return v


@dataclass(frozen=True)
class Fit(Generic[C]):
    """The outcome of fitting candidates into a budget.

    :param choice: the chosen candidate (None when none fits)
    :param planned_uses: its planned channel uses (largest over images), or the smallest
        candidate's when none fits
    :param fits: whether a candidate fits
    :param note: ``"fits"`` or why not
    """

    choice: C | None
    planned_uses: float
    fits: bool
    note: str


def fit_largest(
    candidates: Sequence[C],
    *,
    cost: Callable[[C], float],
    size: Callable[[C], float],
    budget: float,
) -> Fit[C]:
    """The candidate of largest ``size`` whose ``cost`` is ``<= budget`` (ties: the later
    candidate in ``candidates``); every candidate's cost is evaluated."""
    if not candidates:
        raise ValueError("candidates must not be empty")
    best: tuple[float, int] | None = None
    best_c: C | None = None
    best_cost = math.inf
    smallest = math.inf
    for i, c in enumerate(candidates):
        u = float(cost(c))
        smallest = min(smallest, u)
        if u <= budget:
            key = (float(size(c)), i)
            if best is None or key > best:
                best, best_c, best_cost = key, c, u
    if best is None:
        return Fit(
            None,
            smallest,
            False,
            f"no candidate fits {budget:g} channel uses (the smallest needs {smallest:g})",
        )
    return Fit(best_c, best_cost, True, "fits")


def analog_ratio(
    payloads: Sequence[Any], plan: Callable[[float, Any], float], budget: float
) -> Fit[float]:
    """The bandwidth ratio that fills ``budget`` for every payload (see module docstring).

    :param plan: ``plan(ratio, payload)`` -> planned channel uses of one image
    """
    ratios, sides = [], []
    for p in payloads:
        u1, u2 = float(plan(1.0, p)), float(plan(2.0, p))
        n = u2 - u1
        if n <= 0:
            raise ValueError("the analog plan does not grow with the bandwidth ratio")
        side = u1 - n
        sides.append(side)
        ratios.append(math.floor(budget - side) / n)
    r = min(ratios)
    if r <= 0:
        need = max(sides) + 1
        return Fit(None, need, False, f"side information alone needs {need:g} channel uses")
    planned = max(float(plan(r, p)) for p in payloads)
    return Fit(r, planned, planned <= budget, "fits")


def _plan_packets(channel: Any, packets: list[bytes]) -> float:
    try:
        return float(channel.planned_channel_uses(packets))
    except NotImplementedError as exc:
        raise CollabInferError(
            f"channel {channel.name!r} cannot plan its channel uses, so it cannot fill a "
            f"channel-use budget ({exc})"
        ) from None


def _mean(xs: Sequence[float]) -> float:
    return float(sum(xs)) / len(xs) if xs else 0.0


def fit_row(
    row: RowSpec,
    *,
    channel: Any,
    n_tokens: int,
    payloads: Callable[[RowSpec], list[Any]],
    images: Sequence[Any] = (),
    analog_plan: Callable[[Any, Any], float] | None = None,
    image_bytes: Callable[[int, str, int], bytes] | None = None,
    token_packets: Callable[[RowSpec, str, str], list[list[bytes]]] | None = None,
) -> RowSpec:
    """The concrete row that fills ``row.budget_channel_uses`` (``row`` itself when it has
    no budget). The result keeps ``row``'s hash (``fitted_from``).

    :param channel: the row's channel model
    :param n_tokens: N of the model (K candidates default to 1..N)
    :param payloads: ``payloads(row)`` -> one reducer payload per image for that row
    :param images: the PIL images (image schemes)
    :param analog_plan: ``analog_plan(link, payload)`` -> planned uses over an analog link
    :param image_bytes: ``image_bytes(i, codec, quality)`` -> the encoded image ``i`` (a
        cache shared by rows; default: encode ``images[i]`` now)
    :param token_packets: ``token_packets(row, number_format, index_coding)`` -> every
        image's packets of ``payloads(row)`` (a cache; default: encode + packetize now)
    """
    budget = row.budget_channel_uses
    if budget is None:
        return row
    cand = row.budget_candidates
    done = dict(fitted_from=row.row_hash)
    if row.kind == "image":
        from experiments.jpeg_baseline import encode_image, split_packets

        encoded = image_bytes or (lambda i, c, q: encode_image(images[i], c, q))
        sizes: dict[int, list[int]] = {}

        def cost_q(q: int) -> float:
            data = [encoded(i, row.image_codec, q) for i in range(len(images))]
            sizes[q] = [len(d) for d in data]
            return max(_plan_packets(channel, split_packets(d, row.mtu)) for d in data)

        fit = fit_largest(
            list(cand["quality"]), cost=cost_q, size=lambda q: _mean(sizes[q]), budget=budget
        )
        chosen = dict(quality=fit.choice)
    elif row.number_format == "analog":
        if analog_plan is None:
            raise CollabInferError("an analog row with a budget needs an analog_plan")
        fit = analog_ratio(
            payloads(row),
            lambda r, p: analog_plan(dataclasses.replace(channel, bandwidth_ratio=r), p),
            budget,
        )
        params = dict(row.channel_params)
        if fit.choice is not None:
            params["bandwidth_ratio"] = fit.choice
        chosen = dict(channel_params=params)
    else:
        import codec

        def packets_now(spec: RowSpec, fmt: str, coding: str) -> list[list[bytes]]:
            return [
                codec.packetize(codec.encode(p, number_format=fmt, index_coding=coding), row.mtu)
                for p in payloads(spec)
            ]

        packets_of = token_packets or packets_now
        ks = cand.get("k") or ([None] if row.reducer == "full" else list(range(1, n_tokens + 1)))
        combos = list(itertools.product(ks, cand["number_format"], cand["index_coding"]))
        bits: dict[tuple, float] = {}

        def cost_t(c: tuple) -> float:
            k, fmt, coding = c
            spec = dataclasses.replace(row, k=k, budget_channel_uses=None)
            per_image = packets_of(spec, fmt, coding)
            bits[c] = _mean([8 * sum(len(x) for x in pk) for pk in per_image])
            return max(_plan_packets(channel, pk) for pk in per_image)

        fit = fit_largest(combos, cost=cost_t, size=lambda c: bits[c], budget=budget)
        k, fmt, coding = fit.choice if fit.choice is not None else (None, None, None)
        chosen = dict(k=k, number_format=fmt, index_coding=coding)
    return dataclasses.replace(
        row,
        **chosen,
        **done,
        budget_fit=fit.note,
        budget_planned_uses=fit.planned_uses,
    )
