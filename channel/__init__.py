"""Link models between edge and server: rate and latency, packet erasure, bit-true
5G PHY (Sionna), PHY abstraction and analog transmission.

Sionna is imported lazily, only by the models that use it."""

from channel.delivery import Delivery

__all__ = ["Delivery"]
