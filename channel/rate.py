"""A rate-limited link with a fixed delay (no loss, no bit errors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from channel.base import Channel, offered_bits
from channel.delivery import Delivery
from channel.validate import check_non_negative, check_packets, check_positive

__all__ = ["RateLimited"]


@dataclass(frozen=True)
class RateLimited(Channel):
    """``bits_on_air = sum(8 len + per_packet_overhead_bits)``,
    ``airtime_s = bits_on_air / bandwidth_bps``, ``latency_s = airtime_s + delay_s``.

    :param bandwidth_bps: link rate in bit/s (> 0).
    :param delay_s: propagation / queueing delay added once (>= 0).
    :param per_packet_overhead_bits: header bits added per packet (e.g. 320 for
        IPv4 + UDP + RTP), counted on air.

    Channel cost: this is a bit pipe (a rate and a delay), not a symbol-level link, so
    it occupies no complex channel uses in this suite's accounting (``channel_uses``
    0, :meth:`planned_channel_uses` 0, :meth:`capacity_per_use` None: no SNR, no
    capacity). Its cost shows as ``bits_on_air``, ``airtime_s`` and ``latency_s``; put
    a physical model (``Uncoded``, ``CodedPhy``) in a :class:`~channel.base.Chain` with
    it to count symbols.

    >>> d = RateLimited(1e6, delay_s=0.01).transmit([bytes(125)], seed=0)
    >>> (d.bits_on_air, d.airtime_s, round(d.latency_s, 6))
    (1000, 0.001, 0.011)
    """

    bandwidth_bps: float
    delay_s: float = 0.0
    per_packet_overhead_bits: int = 0

    name: ClassVar[str] = "rate_limited"

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "bandwidth_bps", check_positive("bandwidth_bps", self.bandwidth_bps)
        )
        object.__setattr__(self, "delay_s", check_non_negative("delay_s", self.delay_s))
        overhead = check_non_negative("per_packet_overhead_bits", self.per_packet_overhead_bits)
        if overhead != int(overhead):
            raise ValueError(f"per_packet_overhead_bits must be an integer, got {overhead}")
        object.__setattr__(self, "per_packet_overhead_bits", int(overhead))

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        """0: a bit pipe spends no complex channel uses (see the class docstring)."""
        check_packets(packets)
        return 0.0

    def capacity_per_use(self) -> None:
        """None: no SNR, no Shannon capacity (see the class docstring)."""
        return None

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        bits = offered_bits(packets) + self.per_packet_overhead_bits * len(packets)
        airtime = bits / self.bandwidth_bps
        return Delivery(list(packets), bits, airtime, airtime + self.delay_s, {"lost": 0})
