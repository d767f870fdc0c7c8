"""Tiny randomly initialised VLM checkpoints, built offline in about a second.

They exercise the real Hugging Face code paths (config, weights, tokenizer and image
processor saved to a directory, loaded back through the adapters) without any download:
used by the tests and for quick offline end-to-end runs. Their captions are gibberish.

>>> import tempfile
>>> d = build_tiny_paligemma(tempfile.mkdtemp())  # doctest: +SKIP
>>> from collab_infer.models import load
>>> vlm = load(f"paligemma:{d}")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["build_tiny_paligemma", "build_tiny_llava", "train_tiny_tokenizer", "INIT_GAIN"]

#: tiny weights are drawn with std INIT_GAIN / sqrt(fan_in) (see _spread_weights)
INIT_GAIN = 1.6

_CORPUS = [
    "a red circle above a blue square",
    "two green triangles on a white background",
    "a small yellow star next to a large purple circle",
    "caption en\n",
    "caption en\na cat\n",
    "describe the image\n",
    "a dog runs on the grass near a tree",
    "a man rides a bike down the street",
    "three black squares in a row",
    "USER: ASSISTANT:",
]


def train_tiny_tokenizer(
    extra_special: list[str] | None = None,
    vocab_size: int = 200,
    corpus: list[str] | None = None,
):
    """A small BPE tokenizer (Metaspace pre-tokenizer, like SentencePiece) trained in
    milliseconds with ``tokenizers``, wrapped as ``PreTrainedTokenizerFast``.

    Special tokens, in this id order: ``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2, ``<unk>`` 3,
    then ``extra_special`` (e.g. ``<image>``). ``corpus`` adds training sentences (a
    family's chat words) to the shared ones.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", *(extra_special or [])]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="never")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False
    )
    tok.train_from_iterator((_CORPUS + list(corpus or [])) * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        additional_special_tokens=list(extra_special or []),
    )


def build_tiny_paligemma(
    out_dir: str | Path,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``PaliGemmaForConditionalGeneration`` (SigLIP + Gemma), its
    tokenizer (with ``<image>``) and a SigLIP image processor to ``out_dir``.

    ``(image_size // patch_size) ** 2`` image tokens (16 by default); returns the directory.
    Two layers at least, or the prefix-LM mask has no visible effect.
    """
    from transformers import (
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        SiglipVisionConfig,
    )
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    out = _new_dir(out_dir)
    tokenizer = train_tiny_tokenizer(["<image>"])
    vocab = len(tokenizer)
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    vision = SiglipVisionConfig(
        **_vision_dims(vision_dim, layers, image_size, patch_size), vision_use_head=False
    )
    text = GemmaConfig(**_text_dims(tokenizer, text_dim, layers), head_dim=text_dim // 2)
    config = PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_id,
        vocab_size=vocab,
        projection_dim=text_dim,
        hidden_size=text_dim,
    )
    processor = SiglipImageProcessorPil(
        size={"height": image_size, "width": image_size},
        image_seq_length=(image_size // patch_size) ** 2,
    )
    return _save_tiny(PaliGemmaForConditionalGeneration, config, tokenizer, processor, seed, out)


def build_tiny_llava(
    out_dir: str | Path,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``LlavaForConditionalGeneration`` (CLIP vision + Llama), its
    tokenizer (with ``<image>``) and a CLIP image processor to ``out_dir``.

    With the default ``vision_feature_select_strategy`` the CLS token is dropped, so
    there are ``(image_size // patch_size) ** 2`` image tokens; returns the directory.
    """
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    out = _new_dir(out_dir)
    tokenizer = train_tiny_tokenizer(["<image>"])
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(
        **_vision_dims(vision_dim, layers, image_size, patch_size), projection_dim=vision_dim
    )
    text = LlamaConfig(**_text_dims(tokenizer, text_dim, layers))
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_id,
        image_seq_length=(image_size // patch_size) ** 2,
        vision_feature_layer=-1,
    )
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    return _save_tiny(LlavaForConditionalGeneration, config, tokenizer, processor, seed, out)


def _new_dir(out_dir: str | Path) -> Path:
    """``out_dir`` as a :class:`Path`, created (with its parents) if missing."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _vision_dims(vision_dim: int, layers: int, image_size: Any, patch_size: Any) -> dict[str, Any]:
    """The vision-tower settings every tiny builder shares: width ``vision_dim``, MLP width
    ``2 * vision_dim``, ``layers`` blocks of 2 heads, ``image_size`` / ``patch_size`` in
    pixels (ints, or the ``[h, w]`` lists some configs take)."""
    return {
        "hidden_size": vision_dim,
        "intermediate_size": 2 * vision_dim,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "image_size": image_size,
        "patch_size": patch_size,
    }


def _text_dims(tokenizer: Any, text_dim: int, layers: int) -> dict[str, Any]:
    """The decoder settings every tiny builder shares: the tokenizer's vocabulary and
    pad / eos / bos ids, width ``text_dim``, MLP width ``2 * text_dim``, ``layers`` blocks
    of 2 query heads and 1 key/value head."""
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": text_dim,
        "intermediate_size": 2 * text_dim,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }


def _save_tiny(
    model_cls, config, tokenizer, processor, seed: int, out: Path, *, embedding_gain: float = 1.0
) -> Path:
    """:func:`_save_random_model`, then ``processor.save_pretrained(out)``; returns ``out``."""
    _save_random_model(model_cls, config, tokenizer, seed, out, embedding_gain=embedding_gain)
    processor.save_pretrained(out)
    return out


def _save_random_model(
    model_cls, config, tokenizer, seed: int, out: Path, *, embedding_gain: float = 1.0
) -> None:
    """Build ``model_cls(config)`` with seeded, width-scaled weights; save it, the tokenizer
    (whose pad / eos / bos ids become the generation defaults) and a
    :data:`~collab_infer.models.hf_vlm.WEIGHTS_MARKER` saying the weights are random.

    ``embedding_gain`` scales the input embeddings (tied to the output head): decoders whose
    blocks end in a norm (Gemma 3's sandwich norms) add unit-size updates to the residual
    stream, which a full-size embedding of the last prompt token would outvote."""
    import json

    import torch

    from collab_infer.models.loading import WEIGHTS_MARKER

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config).eval()
        _spread_weights(model, seed)
        if embedding_gain != 1.0:
            with torch.no_grad():
                model.get_input_embeddings().weight.mul_(embedding_gain)
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        setattr(model.generation_config, name, getattr(tokenizer, name))
    from collab_infer.models.loading import quiet_loading

    with quiet_loading():  # no "Writing model shards" bar in logs
        model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    marker = {
        "weights": "random-init",
        "seed": seed,
        "init": f"normal(0, {INIT_GAIN}/sqrt(fan_in))",
    }
    (out / WEIGHTS_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _spread_weights(model, seed: int) -> None:
    """Re-draw every weight matrix ``W`` with std ``INIT_GAIN / sqrt(fan_in)`` (``fan_in`` =
    the product of all but the first dimension: the input width of a linear layer, channels
    x kernel of a convolution, the width of an embedding row).

    HF's default init (std 0.02) makes a tiny model's output nearly independent of its image
    tokens, so the tests could not tell a replaced token from the original; a fixed larger
    std (0.2 before) is numerically chaotic at real widths (activations grow like
    ``0.2 * sqrt(width)`` per layer). Width-scaled draws give every layer the same gain at
    every size; ``INIT_GAIN = 1.6`` equals the old 0.2 at width 64 (so the tiny models'
    layers still matter against the residual stream and the tied embeddings: at gain 1 a
    2-layer Gemma mostly repeats its last prompt token)."""
    import math

    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 and "norm" not in name:
                std = INIT_GAIN / math.sqrt(p[0].numel())
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype) * std)
