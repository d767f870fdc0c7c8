"""A tiny random Qwen3-VL checkpoint (DeepStack ViT, Qwen3 decoder with M-RoPE), built
offline with the recipe of :mod:`collab_infer.models.tiny` (seeded weights of std
``INIT_GAIN / sqrt(fan_in)``, a locally trained tokenizer with Qwen's special tokens, the
Qwen2-VL image processor, a random-weights marker). Its captions are gibberish.

>>> import tempfile
>>> d = build_tiny_qwen3_vl(tempfile.mkdtemp())  # doctest: +SKIP
>>> vlm = load(f"qwen3_vl:{d}", image_size=(32, 48))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from collab_infer.models.tiny import INIT_GAIN, _save_random_model, train_tiny_tokenizer
from collab_infer.models.tiny_recent import QWEN_SPECIALS

__all__ = ["build_tiny_qwen3_vl"]

_CORPUS = ["system\nYou are a helpful assistant.", "user\nDescribe this image.", "assistant\n"]


def build_tiny_qwen3_vl(
    out_dir: str | Path,
    *,
    patch_size: int = 4,
    vision_dim: int = 32,
    text_dim: int = 64,
    vision_layers: int = 3,
    text_layers: int = 3,
    deepstack_indexes: tuple[int, ...] = (0, 1),
    seed: int = 0,
) -> Path:
    """Save a tiny random ``Qwen3VLForConditionalGeneration`` to ``out_dir``: a ViT of
    ``vision_layers`` blocks (width ``vision_dim``, learned 4 x 4 position grid resampled
    per image, 2-D RoPE), a 2 x 2 patch merger to ``text_dim`` plus one DeepStack merger per
    entry of ``deepstack_indexes`` (ViT blocks whose outputs feed the first
    ``len(deepstack_indexes)`` decoder layers), and a Qwen3 decoder of ``text_layers``
    layers (head dim 32, interleaved M-RoPE sections 6:5:5); with its tokenizer and a
    ``Qwen2VLImageProcessor`` (patch ``patch_size``, merge 2).

    A 32 x 48 image gives an 8 x 12 patch grid and 4 x 6 = 24 merged tokens.
    """
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    if not deepstack_indexes or max(deepstack_indexes) >= vision_layers:
        raise ValueError(
            f"deepstack_indexes must name ViT blocks 0..{vision_layers - 1}, got "
            f"{deepstack_indexes!r}"
        )
    if len(deepstack_indexes) >= text_layers:
        raise ValueError("text_layers must exceed the number of DeepStack levels")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tiny_tokenizer(QWEN_SPECIALS, corpus=_CORPUS)
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in QWEN_SPECIALS}
    config = transformers.Qwen3VLConfig(
        vision_config={
            "depth": vision_layers,
            "hidden_size": vision_dim,
            "intermediate_size": 2 * vision_dim,
            "num_heads": 2,
            "patch_size": patch_size,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": text_dim,
            "num_position_embeddings": 16,
            "deepstack_visual_indexes": list(deepstack_indexes),
            "initializer_range": INIT_GAIN / vision_dim**0.5,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": text_dim,
            "intermediate_size": 2 * text_dim,
            "num_hidden_layers": text_layers,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [6, 5, 5],
                "mrope_interleaved": True,
            },
            "initializer_range": INIT_GAIN / text_dim**0.5,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": tokenizer.bos_token_id,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    _save_random_model(transformers.Qwen3VLForConditionalGeneration, config, tokenizer, seed, out)
    factor = 2 * patch_size
    Qwen2VLImageProcessorPil(
        patch_size=patch_size,
        merge_size=2,
        temporal_patch_size=2,
        min_pixels=factor * factor,
        max_pixels=(8 * factor) ** 2,
    ).save_pretrained(out)
    return out
