"""Edge and server over a real network: ``collab-infer serve``, ``edge`` and ``link``.

- :mod:`collab_infer.net.protocol`: the wire protocol (one place): UDP datagram =
  optional HMAC-SHA256 tag + codec packet; one JSON reply datagram per payload;
- :mod:`collab_infer.net.server`: :class:`NetServer` (asyncio UDP, per-payload-id
  reassembly with a timeout, concealment, dynamic batching, HTTP health / metrics);
- :mod:`collab_infer.net.edge`: :class:`EdgeClient` (paced send, reply, latency
  breakdown) and :func:`caption_images`;
- :mod:`collab_infer.net.link`: :class:`LinkProxy` (any channel model on real datagrams);
- :mod:`collab_infer.net.limits`: :class:`Limits`, every bound the server enforces;
- :mod:`collab_infer.net.inflight`, :mod:`collab_infer.net.metrics`: reassembly
  table, counters and the metrics endpoint.

Composition layer (DESIGN.md): may use everything; imports only the stdlib and numpy
at import time (torch, transformers and the channel models load when used).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "NetServer": "collab_infer.net.server",
    "EdgeClient": "collab_infer.net.edge",
    "EdgeResult": "collab_infer.net.edge",
    "caption_images": "collab_infer.net.edge",
    "LinkProxy": "collab_infer.net.link",
    "Limits": "collab_infer.net.limits",
    "Metrics": "collab_infer.net.metrics",
    "DROP_REASONS": "collab_infer.net.metrics",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'collab_infer.net' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
