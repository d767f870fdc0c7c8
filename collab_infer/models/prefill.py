"""Cheaper prompt passes (prefill) for ``generate`` of the Hugging Face VLM adapters.

Both are context-bound changes to a loaded model, active only while
:meth:`collab_infer.models.hf_vlm.HFVisionLanguageModel.generate` runs, and both leave
the computed numbers as they are up to float rounding:

- :func:`last_position_only`: ``generate`` reads the logits of the last prompt position
  alone, and the cache keeps each layer's keys / values, computed from the layer's
  *input*. So the last decoder layer's attention output projection and MLP need the
  last position only (for a 3-layer decoder about a third of the prefill's matrix work).
- :func:`chunked_mlps`: the MLPs are position-wise, so they may run on pieces of the
  sequence. On CPU, one batched prefill otherwise materialises intermediate activations
  of ``B x L x intermediate`` values (13 MB each for 64 prompts of 68 positions in the
  default model) that miss the caches and are freshly allocated each time; pieces of
  about a million values made the sweep benchmark's runner about 20% faster here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["MLP_CHUNK_VALUES", "chunked_mlps", "last_position_only"]

#: the most intermediate values (positions x intermediate width) one MLP call computes
MLP_CHUNK_VALUES = 1 << 20
_MIN_CHUNK_POSITIONS = 256


def _layers(language_model: Any) -> list[Any]:
    layers = getattr(language_model, "layers", None)
    return list(layers) if layers is not None else []


def last_position_only(language_model: Any) -> list[Any]:
    """Forward pre-hooks making the last decoder layer compute its attention output
    projection and MLP for the last position only (``[B, L, *] -> [B, 1, *]``).

    Valid inside ``generate`` only: it reads the logits of the last position, and the
    cache holds keys / values computed from the layer's input, before these hooks act.
    The layer's residual additions broadcast the ``[B, 1, D]`` result over the other
    positions, whose values are then never read. Decoding steps (``L = 1``) are
    unchanged.

    :return: the hook handles (remove them after ``generate``); none when the last layer
        lacks the usual ``self_attn.o_proj`` and ``mlp`` submodules
    """
    layers = _layers(language_model)
    last = layers[-1] if layers else None
    o_proj = getattr(getattr(last, "self_attn", None), "o_proj", None)
    mlp = getattr(last, "mlp", None)
    if o_proj is None or mlp is None:
        return []

    def last_position(module: Any, args: tuple) -> tuple | None:
        x = args[0]
        if x.ndim != 3 or x.shape[1] == 1:
            return None
        return (x[:, -1:], *args[1:])

    return [
        o_proj.register_forward_pre_hook(last_position),
        mlp.register_forward_pre_hook(last_position),
    ]


@contextlib.contextmanager
def chunked_mlps(language_model: Any, *, enabled: bool = True) -> Iterator[None]:
    """Within the block, each decoder layer's gated MLP (``gate_proj`` / ``up_proj`` /
    ``down_proj``: Gemma, Llama and kin) runs on at most ``MLP_CHUNK_VALUES / width``
    positions (at least 256) at a time, the pieces' outputs concatenated in order.

    :param enabled: False: do nothing (e.g. on a GPU, where one large call is faster)
    """
    patched = []
    if enabled:
        for layer in _layers(language_model):
            mlp = getattr(layer, "mlp", None)
            gate = getattr(mlp, "gate_proj", None)
            if gate is None or not all(hasattr(mlp, n) for n in ("up_proj", "down_proj")):
                continue
            if "forward" in vars(mlp):  # already replaced: leave it alone
                continue
            positions = max(_MIN_CHUNK_POSITIONS, MLP_CHUNK_VALUES // int(gate.out_features))
            mlp.forward = _chunked(mlp.forward, positions)
            patched.append(mlp)
    try:
        yield
    finally:
        for mlp in patched:
            del mlp.forward


def _chunked(forward: Any, positions: int) -> Any:
    """``forward`` (position-wise, ``[..., D] -> [..., D']``) on pieces of ``positions``."""
    import torch

    def chunked(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] <= positions:
            return forward(x)
        out = torch.cat([forward(piece.unsqueeze(0))[0] for piece in flat.split(positions)])
        return out.view(*x.shape[:-1], out.shape[-1])

    return chunked
