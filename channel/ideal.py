"""The ideal link: every packet arrives intact, instantly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from channel.base import Channel, offered_bits
from channel.delivery import Delivery

__all__ = ["Ideal"]


@dataclass(frozen=True)
class Ideal(Channel):
    """Lossless, error-free, zero airtime; ``bits_on_air`` is the offered bits.

    No physical channel: ``channel_uses`` 0 and ``capacity_per_use()`` None.

    >>> Ideal().transmit([b"ab", b"c"], seed=0).packets
    [b'ab', b'c']
    """

    name: ClassVar[str] = "ideal"
    costs_air: ClassVar[bool] = False

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        return Delivery(list(packets), offered_bits(packets), 0.0, 0.0, {"lost": 0})
