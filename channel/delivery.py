"""What a link model hands back: the received packets and the cost of sending them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery"]


@dataclass(frozen=True)
class Delivery:
    """Result of pushing a list of packets through a channel model.

    :param packets: one entry per sent packet: the received bytes (possibly with bit
        errors for models that deliver them), or ``None`` where the packet was lost.
    :param bits_on_air: channel bits spent, coding and per-packet overhead included.
    :param airtime_s: time the transmission occupied the channel.
    :param latency_s: airtime plus propagation / queueing delay.
    :param stats: the model's own statistics (e.g. ``bit_errors``, ``block_errors``,
        ``per_packet_snr_db``), plain Python / numpy values.
    :param channel_uses: complex channel symbols (resource elements on OFDM) the
        transmission occupied: payload, side information, coding, padding,
        retransmissions and modelled pilots included. 0 for models that spend no
        channel resources (pure loss models, ``Ideal``).
    """

    packets: list[bytes | None]
    bits_on_air: int
    airtime_s: float
    latency_s: float
    stats: dict[str, Any] = field(default_factory=dict)
    channel_uses: float = 0.0

    @property
    def n_lost(self) -> int:
        return sum(p is None for p in self.packets)

    @property
    def loss_rate(self) -> float:
        return self.n_lost / len(self.packets) if self.packets else 0.0
