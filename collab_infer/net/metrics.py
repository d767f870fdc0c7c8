"""Server counters, latency windows and the HTTP health / metrics endpoint.

``GET /health`` answers ``{"status": "ok"}``; ``GET /metrics`` the JSON of
:meth:`Metrics.snapshot`: counters (datagrams, drops by reason, payloads, requests
answered), batch sizes, and p50 / p99 / mean of queue time, generate time and
server latency (first packet -> reply) over the last 4096 requests. The endpoint is a
minimal HTTP/1.0 reader: request head at most 4 KiB within 2 s, GET only, one request
per connection, at most ``max_metrics_connections`` at once.

>>> w = Window(); [w.add(x) for x in (1.0, 2.0, 3.0)] and None
>>> w.summary()["p50"]
2.0
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import Callable

import numpy as np

__all__ = ["Metrics", "Window", "serve_metrics", "DROP_REASONS"]

#: every reason a datagram is dropped (each one counted under ``dropped``)
DROP_REASONS = (
    "oversized",  # larger than max_datagram_bytes
    "rate_limited",  # the client's token bucket was empty
    "too_many_clients",  # the client table was full
    "unauthenticated",  # missing or wrong HMAC tag (a key is set)
    "malformed",  # codec.parse_packet refused it (CRC, layout, not the model's N x D)
    "replayed",  # a packet of an already answered payload (late or replayed)
    "duplicate",  # a copy of a packet already held
    "busy",  # in-flight limits (per client or total)
    "over_budget",  # reassembly byte limits, or more packets than its P
    "internal_error",  # a bug caught at the datagram boundary (logged)
)
_WINDOW = 4096
_HEAD_LIMIT = 4096
_READ_TIMEOUT_S = 2.0


class Window:
    """The last 4096 values of one quantity (seconds); p50, p99, mean."""

    def __init__(self) -> None:
        self.values: deque[float] = deque(maxlen=_WINDOW)

    def add(self, value: float) -> None:
        self.values.append(float(value))

    def summary(self) -> dict[str, float | int]:
        if not self.values:
            return {"n": 0}
        a = np.fromiter(self.values, dtype=float)
        return {
            "n": int(a.size),
            "p50": float(np.percentile(a, 50)),
            "p99": float(np.percentile(a, 99)),
            "mean": float(a.mean()),
        }


class Metrics:
    """What the server counts (plain ints and windows; one event loop writes them)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter({r: 0 for r in DROP_REASONS})
        self.batch_sizes: Counter[int] = Counter()
        self.queue_s, self.generate_s, self.latency_s = Window(), Window(), Window()

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def snapshot(self, tables: dict | None = None) -> dict:
        n_batches = sum(self.batch_sizes.values())
        images = sum(k * v for k, v in self.batch_sizes.items())
        return {
            "uptime_s": time.monotonic() - self.started,
            "datagrams": self.counts["datagrams"],
            "bytes": self.counts["bytes"],
            "packets_accepted": self.counts["packets_accepted"],
            "dropped": dict(self.dropped),
            "payloads_started": self.counts["payloads_started"],
            "payloads_complete": self.counts["payloads_complete"],
            "payloads_timed_out": self.counts["payloads_timed_out"],
            "requests": self.counts["requests"],
            "replies": dict(
                ok=self.counts["replies_ok"],
                refused=self.counts["replies_refused"],
                error=self.counts["replies_error"],
            ),
            "batches": n_batches,
            "batch_sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
            "mean_batch": images / n_batches if n_batches else 0.0,
            "queue_s": self.queue_s.summary(),
            "generate_s": self.generate_s.summary(),
            "latency_s": self.latency_s.summary(),
            **({"tables": tables} if tables is not None else {}),
        }


async def serve_metrics(
    host: str, port: int, snapshot: Callable[[], dict], max_connections: int
) -> asyncio.Server:
    """Start the HTTP endpoint (see the module docstring) and return its server."""
    active = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active
        if active >= max_connections:
            writer.close()
            return
        active += 1
        try:
            status, body = await _answer(reader, snapshot)
            text = json.dumps(body, sort_keys=True).encode()
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode()
                + text
            )
            await asyncio.wait_for(writer.drain(), _READ_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            active -= 1
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=_HEAD_LIMIT)


async def _answer(reader: asyncio.StreamReader, snapshot: Callable[[], dict]) -> tuple[str, dict]:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
        return "400 Bad Request", {"error": "send one HTTP GET request head under 4 KiB"}
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) != 3 or parts[0] != b"GET":
        return "400 Bad Request", {"error": "only GET /health and GET /metrics"}
    path = parts[1].split(b"?", 1)[0]
    if path == b"/health":
        return "200 OK", {"status": "ok"}
    if path == b"/metrics":
        return "200 OK", snapshot()
    return "404 Not Found", {"error": "only GET /health and GET /metrics"}
