"""What the network server accepts and holds: every limit in one frozen dataclass.

Memory bound: the server holds the packets of at most ``max_inflight`` payloads, each at
most :func:`payload_budget_bytes` (twice the model's largest legitimate payload, N x D
values at the widest accepted number format plus N 32-bit indices, plus 64 KiB for
packet headers), and never more than ``max_buffer_bytes`` in all; reassembly itself
runs under the server's ``codec.Expected`` (N x D). The client, refusal and replay
tables are capped by ``max_clients`` and ``replay_window``.

>>> Limits().max_datagram_bytes, Limits().max_batch
(1472, 8)
>>> b = TokenBucket(rate_per_s=2.0, burst=2, now=0.0)
>>> [b.take(0.0), b.take(0.0), b.take(0.0), b.take(0.5)]
[True, True, False, True]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codec.expect import Expected

__all__ = ["Limits", "TokenBucket", "payload_budget_bytes"]


@dataclass(frozen=True)
class Limits:
    """Server limits (defaults in brackets).

    :param max_datagram_bytes: largest datagram accepted, tag included [1472: an
        unfragmented UDP datagram on 1500-byte Ethernet; the edge's default MTU of 1400
        plus a 32-byte tag fits]
    :param max_inflight: payloads being reassembled or waiting for a caption, all
        clients [64]
    :param max_inflight_per_client: the same per source address [8]
    :param max_buffer_bytes: packet bytes held for reassembly, all payloads [64 MiB]
    :param reassembly_timeout_s: a payload with packets missing is captioned (gaps
        concealed) this long after its last packet [0.5 s]
    :param max_payload_age_s: ... and at the latest this long after its first [10 s]
    :param client_idle_s: a source address's state is forgotten after this long
        without a datagram [60 s]
    :param max_clients: source addresses tracked at once; datagrams from more are
        dropped [4096]
    :param rate_per_s: datagrams per second per source address (token bucket) [20000]
    :param rate_burst: the bucket's size in datagrams [4096]
    :param replay_window: answered (address, payload id) pairs remembered; their late
        or replayed packets are dropped [65536]
    :param max_batch: most payloads per generate call [8]
    :param max_wait_ms: how long the first payload of a batch waits for more [10 ms]
    :param max_metrics_connections: concurrent HTTP metrics connections [16]
    """

    max_datagram_bytes: int = 1472
    max_inflight: int = 64
    max_inflight_per_client: int = 8
    max_buffer_bytes: int = 64 * 2**20
    reassembly_timeout_s: float = 0.5
    max_payload_age_s: float = 10.0
    client_idle_s: float = 60.0
    max_clients: int = 4096
    rate_per_s: float = 20000.0
    rate_burst: int = 4096
    replay_window: int = 65536
    max_batch: int = 8
    max_wait_ms: float = 10.0
    max_metrics_connections: int = 16

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"Limits.{f.name} must be a number, got {value!r}")
            if f.type == "int" and int(value) != value:
                raise ValueError(f"Limits.{f.name} must be an integer, got {value!r}")
            low_ok = value >= 0 if f.name == "max_wait_ms" else value > 0
            if not math.isfinite(value) or not low_ok:
                bound = ">= 0" if f.name == "max_wait_ms" else "> 0"
                raise ValueError(f"Limits.{f.name} must be a finite number {bound}, got {value!r}")
        if self.max_datagram_bytes > 65507:
            raise ValueError(
                f"Limits.max_datagram_bytes={self.max_datagram_bytes} exceeds the largest "
                "UDP datagram, 65507 bytes"
            )
        if self.max_inflight_per_client > self.max_inflight:
            raise ValueError(
                f"Limits.max_inflight_per_client={self.max_inflight_per_client} exceeds "
                f"max_inflight={self.max_inflight}"
            )


def payload_budget_bytes(expect: Expected) -> int:
    """Packet bytes one payload may hold at the server: twice the largest legitimate
    encoded payload of the model (``max_rows`` x D values at the widest accepted number
    format, plus N 32-bit indices or positions) plus 64 KiB of packet headers."""
    from codec.formats import get_format, row_nbytes

    widest = max(row_nbytes(expect.dim, get_format(f)) for f in expect.number_formats)
    values = int(expect.max_rows or expect.n_tokens) * widest + 4 * expect.n_tokens
    return 2 * values + 65536


class TokenBucket:
    """``rate_per_s`` tokens per second up to ``burst``; :meth:`take` spends one."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        self.rate, self.burst = float(rate_per_s), float(burst)
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> bool:
        """Spend one token at time ``now`` (seconds); False when the bucket is empty."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
