"""Loading helpers of the Hugging Face adapters: dtype names, the weights marker, quiet
progress bars.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collab_infer.models.hub import CheckpointError

if TYPE_CHECKING:
    import torch

__all__ = ["WEIGHTS_MARKER", "read_weights_marker", "resolve_dtype", "quiet_loading"]

#: a file beside the weights naming how they were made (``{"weights": "random-init", ...}``),
#: written by :mod:`collab_infer.models.tiny`; without it loaded weights are "checkpoint"
WEIGHTS_MARKER = "collab_infer_weights.json"


def read_weights_marker(directory: Path) -> str:
    """``"random-init"`` (or whatever :data:`WEIGHTS_MARKER` in ``directory`` says), else
    ``"checkpoint"``: weights loaded from files whose training the suite cannot know."""
    import json

    marker = Path(directory) / WEIGHTS_MARKER
    if not marker.is_file():
        return "checkpoint"
    try:
        return str(json.loads(marker.read_text())["weights"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot read {marker}: {exc}") from exc


_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float64": "float64",
    "fp64": "float64",
}


def resolve_dtype(dtype: Any, device: str) -> torch.dtype:
    """``dtype`` as a ``torch.dtype``; ``None`` means float32 on CPU and bfloat16 on CUDA."""
    import torch

    if dtype is None:
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.lower() in _DTYPES:
        return getattr(torch, _DTYPES[dtype.lower()])
    raise ValueError(f"dtype must be a torch.dtype or one of {sorted(_DTYPES)}, got {dtype!r}")


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' weight-loading progress bar unless stderr is a terminal (a sweep
    writing to a log or a pipe should not fill it with bars)."""
    import sys

    from transformers.utils import logging as hf_logging

    if sys.stderr.isatty():
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
