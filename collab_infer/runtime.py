"""Process-wide runtime choices: torch threads and device."""

from __future__ import annotations

import os

__all__ = ["set_threads", "pick_device", "check_device"]


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
    """``device`` if given (checked by :func:`check_device`), else ``"cuda"`` when
    available, else ``"cpu"``."""
    import torch

    if device not in (None, "auto"):
        return check_device(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str | None) -> str | None:
    """``device`` (``None`` / ``"auto"`` unchanged) if torch knows it and this machine has it.

    :raises CollabInferError: an unknown device name (``"bogus"``), or a CUDA / MPS device
        this torch build or machine does not have (say which, and how to fix it).
    """
    from collab_infer.errors import CollabInferError

    if device in (None, "auto"):
        return device
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise CollabInferError(
            f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto"
        ) from None
    if dev.type == "cuda":
        if torch.version.cuda is None and torch.version.hip is None:
            raise CollabInferError(
                f"device {device!r}: this torch {torch.__version__} is a CPU-only build; use "
                "--device cpu, or install a CUDA build of torch (README, 'torch build')"
            )
        if not torch.cuda.is_available():
            raise CollabInferError(
                f"device {device!r}: torch has CUDA but sees no GPU (driver, "
                "CUDA_VISIBLE_DEVICES?); use --device cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise CollabInferError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) are "
                "visible (cuda:0 ...)"
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise CollabInferError(f"device {device!r}: MPS is not available here; use --device cpu")
    return str(dev)
