"""Training / evaluation batches straight from :func:`collab_infer.datasets.shapes.render`
(uint8 arrays -> tensors; no PIL, no per-sample Python)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Batch", "CaptionLayout", "make_batch", "pixels_from_uint8", "prefix_ids"]

IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class CaptionLayout:
    """Token ids of the PaliGemma input format for a fixed tokenizer."""

    image_id: int
    bos_id: int
    eos_id: int
    pad_id: int
    prompt_ids: tuple[int, ...]  # tokenize(prompt + "\n")
    word_to_token: tuple[int, ...]  # shapes.WORDS index -> token id

    @classmethod
    def from_tokenizer(cls, tok, prompt: str = "caption en") -> CaptionLayout:
        from collab_infer.datasets.shapes import WORDS

        w2t = tuple(tok.convert_tokens_to_ids(w) for w in WORDS)
        return cls(
            image_id=tok.convert_tokens_to_ids("<image>"),
            bos_id=tok.bos_token_id,
            eos_id=tok.eos_token_id,
            pad_id=tok.pad_token_id,
            prompt_ids=tuple(tok(prompt + "\n", add_special_tokens=False).input_ids),
            word_to_token=w2t,
        )


@dataclass(frozen=True)
class Batch:
    """Model inputs: pixel_values [B,3,S,S] float32, input_ids / attention_mask /
    token_type_ids / labels [B, T] int64 (labels -100 outside the caption + eos)."""

    pixel_values: object
    input_ids: object
    attention_mask: object
    token_type_ids: object
    labels: object
    captions: list[str]


def pixels_from_uint8(images: np.ndarray):
    """[B,H,W,3] uint8 -> [B,3,H,W] float32 normalised with mean/std 0.5 (SigLIP)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.5


def prefix_ids(layout: CaptionLayout, n_tokens: int, batch: int):
    """[B, N + 1 + P] int64: image tokens, bos, prompt + newline (the generation prompt)."""
    import torch

    row = [layout.image_id] * n_tokens + [layout.bos_id, *layout.prompt_ids]
    return torch.tensor(row, dtype=torch.long).expand(batch, -1).contiguous()


def make_batch(
    shapes_batch, layout: CaptionLayout, n_tokens: int, *, with_text: bool = True
) -> Batch:
    """A training batch from a rendered :class:`~collab_infer.datasets.shapes.ShapesBatch`."""
    import torch

    b = shapes_batch.images.shape[0]
    pixels = pixels_from_uint8(shapes_batch.images)
    prefix = prefix_ids(layout, n_tokens, b)
    words = shapes_batch.word_ids()  # [B, L] -1 padded
    w2t = np.asarray(layout.word_to_token, dtype=np.int64)
    lengths = (words >= 0).sum(1)
    suffix = np.full((b, words.shape[1] + 1), layout.pad_id, dtype=np.int64)
    suffix[:, :-1] = np.where(words >= 0, w2t[np.maximum(words, 0)], layout.pad_id)
    suffix[np.arange(b), lengths] = layout.eos_id
    valid = np.arange(suffix.shape[1])[None, :] <= lengths[:, None]
    suffix_t = torch.from_numpy(suffix)
    valid_t = torch.from_numpy(valid)
    input_ids = torch.cat([prefix, suffix_t], 1)
    attn = torch.cat([torch.ones_like(prefix), valid_t.long()], 1)
    ttype = torch.cat([torch.zeros_like(prefix), torch.ones_like(suffix_t)], 1)
    labels = torch.cat([torch.full_like(prefix, -100), torch.where(valid_t, suffix_t, -100)], 1)
    caps = shapes_batch.captions() if with_text else []
    return Batch(pixels, input_ids, attn, ttype, labels, caps)
