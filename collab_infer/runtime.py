"""Process-wide runtime choices: torch threads and device."""

from __future__ import annotations

import os

__all__ = ["set_threads", "pick_device"]


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads explicitly (default: ``COLLAB_INFER_THREADS`` or
    the number of CPU cores). Oversubscribed torch is 4-100x slower on small machines."""
    import torch

    if n is None:
        n = int(os.environ.get("COLLAB_INFER_THREADS", os.cpu_count() or 1))
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when available, else ``"cpu"``."""
    import torch

    if device not in (None, "auto"):
        return str(device)
    return "cuda" if torch.cuda.is_available() else "cpu"
