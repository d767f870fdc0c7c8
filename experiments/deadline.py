"""Latency deadlines: an image's packets that arrive after a deadline count as lost.

A sweep config may add ``deadlines: {deadlines_s: [...], only: {snr_db: [...]}}``.
Every row whose channel parameters match ``only`` (each named parameter has one of the
listed values; empty: every row) then gets one extra row per deadline ``d`` (seconds),
recorded with ``deadline_s = d`` (NaN on the row without a deadline). Such a row sends
exactly what its no-deadline row sends (same seeds, same channel draws), and before
reassembly every packet whose arrival time is later than ``d`` is set to ``None``, so it
is concealed (or the image is lost) like any other lost packet.

Arrival time of packet ``j`` of an image (seconds from the image's first slot):

- a :class:`~channel.delivery.Delivery` with ``stats["packet_completion_s"]``: that;
- with ``stats["packet_completion_slot"]`` (the ``nr`` channel: the slot of the last
  transmission, ACK or final NACK, of the packet's last transport block) on a channel
  with ``slot_s``: ``t_j = (slot_j + 1) * slot_s + delay_s`` (the ``nr`` channel's
  ``latency_s`` is the largest of these);
- otherwise every packet arrives at the image's ``latency_s``.

``deadline_s`` enters the row hash only when set, so rows without one keep their hashes.

>>> from channel.delivery import Delivery
>>> d = Delivery([b"a", b"b"], 16, 1e-3, 2e-3, stats={"packet_completion_s": [1e-3, 2e-3]})
>>> apply_deadline(d, packet_arrival_s(d, None), 1.5e-3).packets
[b'a', None]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DeadlineSpec", "apply_deadline", "packet_arrival_s", "with_deadlines"]


class DeadlineSpec(BaseModel):
    """``deadlines:`` of a sweep config: latency deadlines in seconds (finite, > 0,
    unique) and the channel parameter values of the rows that get them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadlines_s: list[float] = Field(min_length=1)
    #: channel parameter -> allowed values; a row gets deadline rows only when all match
    only: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("deadlines_s")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        bad = [x for x in v if not math.isfinite(x) or x <= 0]
        if bad:
            raise ValueError(f"deadlines_s must be finite and > 0 seconds, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"deadlines_s must be unique, got {v}")
        return v

    @field_validator("only")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [k for k, vals in v.items() if not vals]
        if empty:
            raise ValueError(f"deadlines.only lists must not be empty: {empty}")
        return v

    def applies(self, channel_params: dict[str, Any]) -> bool:
        """Whether a row with these channel parameters gets deadline rows."""
        return all(channel_params.get(k) in vals for k, vals in self.only.items())


def with_deadlines(rows: Sequence[Any], spec: DeadlineSpec | None) -> list[Any]:
    """``rows`` (RowSpec) with each matching row followed by its deadline rows."""
    out = []
    for r in rows:
        out.append(r)
        if spec is not None and spec.applies(r.channel_params):
            out += [dataclasses.replace(r, deadline_s=float(d)) for d in spec.deadlines_s]
    return out


def packet_arrival_s(delivery: Any, ch: Any) -> list[float]:
    """Arrival time in seconds of each packet of ``delivery`` (see the module docstring)."""
    n = len(delivery.packets)
    stats = delivery.stats or {}
    if "packet_completion_s" in stats:
        times = [float(t) for t in stats["packet_completion_s"]]
    elif "packet_completion_slot" in stats and getattr(ch, "slot_s", None) is not None:
        slot_s, delay_s = float(ch.slot_s), float(getattr(ch, "delay_s", 0.0))
        times = [(int(s) + 1) * slot_s + delay_s for s in stats["packet_completion_slot"]]
    else:
        times = [float(delivery.latency_s)] * n
    if len(times) != n:
        raise ValueError(
            f"packet_arrival_s: {len(times)} completion times for {n} packets "
            f"(channel {type(ch).__name__} reports inconsistent per-packet stats)"
        )
    return times


def apply_deadline(delivery: Any, arrival_s: Sequence[float], deadline_s: float | None) -> Any:
    """``delivery`` with every packet arriving after ``deadline_s`` set to None (the
    same object when ``deadline_s`` is None); costs and stats are the link's own."""
    if deadline_s is None:
        return delivery
    packets = [
        None if t > deadline_s else p for p, t in zip(delivery.packets, arrival_s, strict=True)
    ]
    return dataclasses.replace(delivery, packets=packets)
