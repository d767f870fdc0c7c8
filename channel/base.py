"""The channel-model interface and serial composition (:class:`Chain`).

Every model is a frozen dataclass of its parameters (validated on construction) with

- ``transmit(packets: list[bytes], seed: int) -> Delivery``: vectorised over packets,
  reproducible from ``seed`` alone (each call owns its numpy / torch generator);
- ``describe() -> dict``: ``{"name": ..., **parameters}`` for result rows.

``costs_air`` says whether the model spends channel resources (a rate, symbols):
pure loss models (``Ideal``, ``PacketErasure``, ``GilbertElliott``) report the offered
bits as ``bits_on_air`` and zero airtime, and add nothing to a chain's cost.

Channel cost (every model):

- ``Delivery.channel_uses``: complex channel symbols the transmission occupied
  (payload, coding, padding, side information, retransmissions, modelled pilots);
  0 for pure loss models and for ``RateLimited`` (a bit pipe without symbols);
- ``planned_channel_uses(packets)``: the same for first transmissions, deterministic
  (draws nothing), to fit a payload into a channel-use budget;
- ``capacity_per_use()``: Shannon capacity in bits per complex use at the model's
  Es/N0 (ergodic under fading), None without a physical channel. A row's
  ``capacity_ratio`` is ``channel_uses / (payload_bits / capacity_per_use)``.

Streams: ``stream(seed)`` returns the channel process a sweep row sends its images
through, in order (``stream.transmit(packets, image_seed)`` per image). Stateless
models give exactly ``transmit(packets, image_seed)``; ``GilbertElliott`` carries its
Markov state from image to image; a ``Chain`` streams each of its stages.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from channel.delivery import Delivery
from channel.validate import check_packets, check_seed

__all__ = ["Channel", "ChannelStream", "Chain", "derive_seed", "offered_bits"]


def derive_seed(seed: int, *keys: int) -> int:
    """A child seed of ``seed`` for sub-stream ``keys`` (numpy SeedSequence)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint64)[0] >> 1)


def offered_bits(packets: list[bytes]) -> int:
    """Payload bits of ``packets`` (``8 * len``)."""
    return 8 * sum(len(p) for p in packets)


class Channel(ABC):
    """Base class of all link models (subclasses are frozen dataclasses)."""

    #: registry name, first key of :meth:`describe`
    name: ClassVar[str] = "channel"
    #: whether the model spends channel resources (see module docstring)
    costs_air: ClassVar[bool] = True

    @abstractmethod
    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        """Send ``packets``; ``None`` in the result where a packet was lost."""

    def describe(self) -> dict[str, Any]:
        """``{"name": ..., **parameters}`` (plain values, for result rows)."""
        out: dict[str, Any] = {"name": self.name}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                value = getattr(self, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def _start(self, packets: list[bytes], seed: int) -> list[bytes]:
        check_seed(seed)
        return check_packets(packets)

    def stream(self, seed: int) -> ChannelStream:
        """A channel process for a sequence of images sent in order (one per row).

        Stateless models (the default) just call :meth:`transmit` with each image's own
        seed; stateful models (Gilbert-Elliott state, link-adaptation offsets, fading
        that evolves in time) override this so their state carries from one image to the
        next, initialised from ``seed``."""
        check_seed(seed)
        return ChannelStream(self)

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        """Channel uses that sending ``packets`` once (first transmissions only, no
        retransmissions) will occupy: deterministic, draws nothing. Used to fit a payload
        into a channel-use budget. Pure loss models (``costs_air`` False) spend none."""
        if not self.costs_air:
            return 0.0
        raise NotImplementedError(f"channel {self.name!r} cannot plan its channel uses yet")

    def capacity_per_use(self) -> float | None:
        """Shannon capacity in bits per complex channel use at the model's SNR (ergodic
        under fading), or None for models without a physical channel (pure loss, rate)."""
        return None


class ChannelStream:
    """Images through one channel process in order: ``transmit(packets, seed)`` per
    image. The base class is stateless (each call is ``channel.transmit``)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        return self.channel.transmit(packets, seed)


class _ChainStream(ChannelStream):
    """A chain's process: stage ``i`` streams from ``derive_seed(seed, i)``."""

    def __init__(self, chain: Chain, seed: int) -> None:
        super().__init__(chain)
        self.stages = [s.stream(derive_seed(seed, i)) for i, s in enumerate(chain.stages)]

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        return self.channel._run([s.transmit for s in self.stages], packets, seed)


class Chain(Channel):
    """Stages applied in series, e.g. ``Chain(CodedPhy(...), RateLimited(...))``.

    Composition rules:

    - a packet lost by any stage is lost; later stages see only the survivors, with
      any bit damage done by earlier stages (so put a stage whose cost should include
      lost packets first);
    - ``airtime_s``, ``latency_s`` and ``channel_uses`` add (hops in series,
      store-and-forward); so do ``planned_channel_uses`` (every stage planned on all
      packets: first transmissions); ``capacity_per_use`` is the smallest over the
      stages that have one (the bottleneck hop), None if none has;
    - ``bits_on_air`` adds over stages with ``costs_air`` (each physical hop spends its
      own bits); pure loss stages add nothing, and a chain without any physical stage
      reports the offered bits;
    - ``stats["stages"]`` holds every stage's ``{"name", "stats"}``; integer counters
      ``bit_errors`` and ``block_errors`` are summed at the top level.

    Stage ``i`` draws from ``derive_seed(seed, i)``; in a :meth:`stream`, stage ``i``
    streams from ``derive_seed(stream seed, i)`` (stateful stages keep their state).
    """

    name: ClassVar[str] = "chain"

    def __init__(self, *stages: Channel) -> None:
        if not stages:
            raise ValueError("stages: Chain needs at least one channel model")
        for i, s in enumerate(stages):
            if not isinstance(s, Channel):
                raise TypeError(f"stages[{i}] must be a channel model, got {type(s).__name__}")
        self.stages: tuple[Channel, ...] = tuple(stages)

    @property
    def costs_air(self) -> bool:  # type: ignore[override]
        return any(s.costs_air for s in self.stages)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "stages": [s.describe() for s in self.stages]}

    def __repr__(self) -> str:
        return f"Chain({', '.join(map(repr, self.stages))})"

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        packets = check_packets(packets)
        return float(sum(s.planned_channel_uses(packets) for s in self.stages))

    def capacity_per_use(self) -> float | None:
        caps = [c for c in (s.capacity_per_use() for s in self.stages) if c is not None]
        return min(caps) if caps else None

    def stream(self, seed: int) -> ChannelStream:
        check_seed(seed)
        return _ChainStream(self, seed)

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        return self._run([s.transmit for s in self.stages], packets, seed)

    def _run(self, senders, packets: list[bytes], seed: int) -> Delivery:
        """The stages' ``transmit`` (or their streams') ``senders`` in series."""
        packets = self._start(packets, seed)
        current: list[bytes | None] = list(packets)
        bits = 0
        airtime = latency = uses = 0.0
        stage_stats = []
        totals = {"bit_errors": 0, "block_errors": 0}
        for i, stage in enumerate(self.stages):
            alive = [j for j, p in enumerate(current) if p is not None]
            d = senders[i]([current[j] for j in alive], derive_seed(seed, i))
            nxt: list[bytes | None] = [None] * len(current)
            for j, p in zip(alive, d.packets, strict=True):
                nxt[j] = p
            current = nxt
            if stage.costs_air:
                bits += d.bits_on_air
            airtime += d.airtime_s
            latency += d.latency_s
            uses += d.channel_uses
            stage_stats.append({"name": stage.name, "stats": d.stats})
            for key in totals:
                totals[key] += int(d.stats.get(key, 0))
        if not self.costs_air:
            bits = offered_bits(packets)
        stats = {**totals, "stages": stage_stats}
        return Delivery(current, bits, airtime, latency, stats, channel_uses=uses)
