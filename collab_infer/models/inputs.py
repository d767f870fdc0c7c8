"""The inputs of the Hugging Face adapters: checks of images and token sequences, and the
pre-hook that writes the token sequences over the placeholder embeddings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["check_images", "check_tokens", "make_injector"]


def check_images(images: Sequence[Image.Image]) -> list[Image.Image]:
    """``images`` as a non-empty list of PIL images (one image is accepted as a list of one).

    :raises ValueError: no image. :raises TypeError: an entry that is not a PIL image.
    """
    from PIL import Image as PILImage

    if isinstance(images, PILImage.Image):
        images = [images]
    if len(images) == 0:
        raise ValueError("images must hold at least one image")
    for i, im in enumerate(images):
        if not isinstance(im, PILImage.Image):
            raise TypeError(f"images[{i}] must be a PIL.Image.Image, got {type(im).__name__}")
    return list(images)


def check_tokens(tokens: Sequence[torch.Tensor], dim: int, split: str) -> None:
    """``tokens`` must be a non-empty list of finite ``[N_i >= 1, dim]`` tensors.

    :raises TypeError: one tensor instead of a list, or an entry that is not a tensor.
    :raises ValueError: no sequence, a wrong shape, NaN or infinite values.
    """
    import torch

    if isinstance(tokens, torch.Tensor):
        raise TypeError(
            "tokens must be a list of [N_i, D] tensors (one per image), not one tensor; "
            "use list(tokens) for a [B, N, D] batch"
        )
    if len(tokens) == 0:
        raise ValueError("tokens must hold at least one [N_i, D] tensor")
    for i, t in enumerate(tokens):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tokens[{i}] must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] != dim:
            raise ValueError(
                f"tokens[{i}] must have shape [N_i >= 1, {dim}] (split={split!r}), "
                f"got {tuple(t.shape)}"
            )
    if not torch.isfinite(torch.cat([t.reshape(-1) for t in tokens])).all():  # one pass
        bad = next(i for i, t in enumerate(tokens) if not torch.isfinite(t).all())
        raise ValueError(f"tokens[{bad}] holds NaN or infinite values; conceal them first")


def make_injector(state: dict) -> Callable:
    """A forward pre-hook writing ``state["feats"]`` over the placeholder embeddings of the
    prefill call (the one whose ``inputs_embeds`` has the prompt's ``[B, L]`` shape)."""

    def inject(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        embeds = kwargs.get("inputs_embeds")
        mask = state["mask"]
        if state["done"] or embeds is None or tuple(embeds.shape[:2]) != tuple(mask.shape):
            return None
        kwargs["inputs_embeds"] = embeds.masked_scatter(
            mask.unsqueeze(-1), state["feats"].to(embeds.dtype)
        )
        state["done"] = True
        return args, kwargs

    return inject
