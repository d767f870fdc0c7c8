"""Link models between edge and server: rate and latency, packet erasure, bit-true
5G PHY (Sionna), PHY abstraction and analog transmission.

Every model has ``transmit(packets: list[bytes], seed: int) -> Delivery`` and
``describe() -> dict``; ``channel.make(name, **params)`` builds one by registry name
(:data:`CHANNELS`). Names are imported lazily (``import channel`` stays cheap);
Sionna is imported only by ``CodedPhy(mode="link")`` and the table builder.

>>> import channel
>>> d = channel.Chain(channel.PacketErasure(0.0), channel.RateLimited(1e6)).transmit(
...     [bytes(100)], seed=0)
>>> d.bits_on_air, d.airtime_s
(800, 0.0008)
"""

from __future__ import annotations

import importlib
from typing import Any

from channel.delivery import Delivery

_LAZY = {
    "Channel": "channel.base",
    "Chain": "channel.base",
    "Ideal": "channel.ideal",
    "RateLimited": "channel.rate",
    "PacketErasure": "channel.erasure",
    "GilbertElliott": "channel.erasure",
    "Uncoded": "channel.uncoded",
    "CodedPhy": "channel.coded_phy",
    "select_mcs": "channel.coded_phy",
    "MCS": "channel.mcs",
    "MCS_TABLE": "channel.mcs",
    "MODULATIONS": "channel.modulation",
    "Analog": "channel.analog",
    "NR": "channel.nr.channel",
    "check_capacity": "channel.capacity",
    "shannon_capacity": "channel.capacity",
    "CHANNELS": "channel.registry",
    "make": "channel.registry",
}

__all__ = ["Delivery", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'channel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
