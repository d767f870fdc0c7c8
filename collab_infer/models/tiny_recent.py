"""Tiny random checkpoints of the newer VLM families (Qwen2.5-VL, Gemma 3), built offline.

Same recipe as :mod:`collab_infer.models.tiny`: a config with tiny widths, seeded weights
with std ``1 / sqrt(fan_in)``, a locally trained tokenizer with the family's special
tokens, the family's own image processor, all saved with ``save_pretrained`` and loaded
back through the adapters. Their captions are gibberish.

>>> import tempfile
>>> d = build_tiny_qwen2_5_vl(tempfile.mkdtemp())  # doctest: +SKIP
>>> vlm = load(f"qwen2_5_vl:{d}", image_size=(32, 48))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from collab_infer.models.tiny import (
    INIT_GAIN,
    _new_dir,
    _save_tiny,
    _text_dims,
    _vision_dims,
    train_tiny_tokenizer,
)

__all__ = [
    "build_tiny_qwen2_5_vl",
    "build_tiny_gemma3",
    "build_tiny_smolvlm",
    "build_tiny_internvl",
    "build_tiny_llava_onevision",
    "QWEN_SPECIALS",
]

QWEN_SPECIALS = [
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
_QWEN_CORPUS = ["system\nYou are a helpful assistant.", "user\nDescribe this image.", "assistant\n"]


def build_tiny_qwen2_5_vl(
    out_dir: str | Path,
    *,
    patch_size: int = 4,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    seed: int = 0,
    family: str = "qwen2_5_vl",
) -> Path:
    """Save a tiny random ``Qwen2_5_VLForConditionalGeneration`` (windowed ViT with 2-D
    RoPE, 2x2 patch merger, Qwen2 decoder with M-RoPE), its tokenizer (Qwen's special
    tokens) and a ``Qwen2VLImageProcessor`` (patch ``patch_size``, merge 2) to ``out_dir``;
    ``family="qwen2_vl"``: a ``Qwen2VLForConditionalGeneration`` (no windows) instead.

    A 32 x 48 image gives an 8 x 12 patch grid and 4 x 6 = 24 merged tokens; the window
    (16 pixels = 2 x 2 merged tokens) makes the windowed blocks differ from the full one.
    """
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    out = _new_dir(out_dir)
    tokenizer = train_tiny_tokenizer(QWEN_SPECIALS, corpus=_QWEN_CORPUS)
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in QWEN_SPECIALS}
    head_dim = text_dim // 2
    unit = head_dim // 16  # mrope_section (t, h, w) = 2:3:3 summing to head_dim / 2, as Qwen's
    if family not in ("qwen2_5_vl", "qwen2_vl"):
        raise ValueError(f"family must be 'qwen2_5_vl' or 'qwen2_vl', got {family!r}")
    common = {"depth": layers, "num_heads": 2, "patch_size": patch_size}
    common |= {"spatial_merge_size": 2, "temporal_patch_size": 2}
    common["initializer_range"] = INIT_GAIN / vision_dim**0.5
    if family == "qwen2_5_vl":
        names = ("Qwen2_5_VLConfig", "Qwen2_5_VLForConditionalGeneration")
        vision = {
            **common,
            "hidden_size": vision_dim,
            "intermediate_size": 2 * vision_dim,
            "out_hidden_size": text_dim,
            "window_size": 4 * patch_size,
            "fullatt_block_indexes": [layers - 1],
        }
    else:
        names = ("Qwen2VLConfig", "Qwen2VLForConditionalGeneration")
        vision = {**common, "embed_dim": vision_dim, "hidden_size": text_dim, "mlp_ratio": 2}
    config_cls, model_cls = (getattr(transformers, n) for n in names)
    config = config_cls(
        vision_config=vision,
        text_config={
            **_text_dims(tokenizer, text_dim, layers),
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2 * unit, 3 * unit, 3 * unit],
            },
            "initializer_range": INIT_GAIN / text_dim**0.5,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    factor = 2 * patch_size
    processor = Qwen2VLImageProcessorPil(
        patch_size=patch_size,
        merge_size=2,
        temporal_patch_size=2,
        min_pixels=factor * factor,
        max_pixels=(8 * factor) ** 2,
    )
    return _save_tiny(model_cls, config, tokenizer, processor, seed, out)


def build_tiny_gemma3(
    out_dir: str | Path,
    *,
    image_size: int = 32,
    patch_size: int = 4,
    tokens_per_image: int = 16,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``Gemma3ForConditionalGeneration`` (SigLIP, average pooling of the
    ``(image_size / patch_size)^2`` patches to ``tokens_per_image`` tokens, RMS norm +
    linear projector, Gemma 3 decoder), its tokenizer (``<start_of_image>``,
    ``<image_soft_token>``, ``<end_of_image>``, ``<start_of_turn>``, ``<end_of_turn>``) and
    a SigLIP image processor to ``out_dir``. Defaults: 8 x 8 patches pooled to 4 x 4 = 16.
    """
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    out = _new_dir(out_dir)
    specials = [
        "<start_of_image>",
        "<image_soft_token>",
        "<end_of_image>",
        "<start_of_turn>",
        "<end_of_turn>",
    ]
    tokenizer = train_tiny_tokenizer(specials, corpus=["user\nDescribe this image.", "model\n"])
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in specials}
    vision = SiglipVisionConfig(
        **_vision_dims(vision_dim, layers, image_size, patch_size), vision_use_head=False
    )
    text = Gemma3TextConfig(
        **_text_dims(tokenizer, text_dim, layers),
        head_dim=text_dim // 2,
        sliding_window=8,
        layer_types=["sliding_attention", "full_attention"][:layers]
        + ["full_attention"] * (layers - 2),
    )
    config = Gemma3Config(
        vision_config=vision,
        text_config=text,
        mm_tokens_per_image=tokens_per_image,
        boi_token_index=ids["<start_of_image>"],
        eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    processor = SiglipImageProcessorPil(size={"height": image_size, "width": image_size})
    return _save_tiny(
        Gemma3ForConditionalGeneration, config, tokenizer, processor, seed, out, embedding_gain=0.1
    )


def build_tiny_smolvlm(
    out_dir: str | Path,
    *,
    tile_size: int = 32,
    patch_size: int = 4,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    max_tiles_per_side: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``SmolVLMForConditionalGeneration`` (Idefics3 family: SigLIP on
    ``tile_size`` tiles, pixel shuffle by 2 + linear connector, Llama decoder), its tokenizer
    (``<image>``, ``<fake_token_around_image>``, ``<global-img>``, ``<row_r_col_c>``,
    ``<end_of_utterance>``) and a SmolVLM image processor that splits images whose long side
    is resized to ``max_tiles_per_side * tile_size`` into tiles plus one global image.

    Each tile (and the global image) gives ``(tile_size / patch_size)^2 / 4`` tokens: 16.
    """
    from transformers import LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig
    from transformers.models.smolvlm.image_processing_pil_smolvlm import (
        SmolVLMImageProcessorPil,
    )

    out = _new_dir(out_dir)
    rows = [
        f"<row_{r}_col_{c}>"
        for r in range(1, max_tiles_per_side + 1)
        for c in range(1, max_tiles_per_side + 1)
    ]
    specials = ["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
    tokenizer = train_tiny_tokenizer(
        ["<|im_start|>", *specials, *rows], corpus=["User: Describe this image.", "Assistant:"]
    )
    vision = SmolVLMVisionConfig(**_vision_dims(vision_dim, layers, tile_size, patch_size))
    text = LlamaConfig(**_text_dims(tokenizer, text_dim, layers))
    config = SmolVLMConfig(
        vision_config=vision,
        text_config=text,
        scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    processor = SmolVLMImageProcessorPil(
        size={"longest_edge": max_tiles_per_side * tile_size},
        max_image_size={"longest_edge": tile_size},
        do_image_splitting=True,
    )
    return _save_tiny(SmolVLMForConditionalGeneration, config, tokenizer, processor, seed, out)


def build_tiny_internvl(
    out_dir: str | Path,
    *,
    tile_size: int = 32,
    patch_size: int = 4,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    max_tiles: int = 4,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``InternVLForConditionalGeneration`` (InternViT on ``tile_size``
    tiles, CLS dropped, pixel shuffle 0.5, LayerNorm + 2-layer MLP projector, Qwen2 decoder),
    its tokenizer (``<img>``, ``</img>``, ``<IMG_CONTEXT>`` and Qwen's chat tokens) and a
    ``GotOcr2ImageProcessor`` cutting images into up to ``max_tiles`` tiles plus a thumbnail.

    Each tile gives ``(tile_size / patch_size)^2 / 4`` tokens: 16.
    """
    from transformers import InternVLConfig, InternVLForConditionalGeneration, Qwen2Config
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import (
        GotOcr2ImageProcessorPil,
    )
    from transformers.models.internvl.configuration_internvl import InternVLVisionConfig

    out = _new_dir(out_dir)
    specials = ["<img>", "</img>", "<IMG_CONTEXT>", "<|im_start|>", "<|im_end|>"]
    tokenizer = train_tiny_tokenizer(specials, corpus=_QWEN_CORPUS)
    vision = InternVLVisionConfig(
        **_vision_dims(vision_dim, layers, [tile_size, tile_size], [patch_size, patch_size])
    )
    text = Qwen2Config(**_text_dims(tokenizer, text_dim, layers))
    config = InternVLConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        downsample_ratio=0.5,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    processor = GotOcr2ImageProcessorPil(
        size={"height": tile_size, "width": tile_size},
        crop_to_patches=True,
        min_patches=1,
        max_patches=max_tiles,
    )
    return _save_tiny(InternVLForConditionalGeneration, config, tokenizer, processor, seed, out)


def build_tiny_llava_onevision(
    out_dir: str | Path,
    *,
    crop_size: int = 32,
    patch_size: int = 8,
    vision_dim: int = 32,
    text_dim: int = 64,
    layers: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny random ``LlavaOnevisionForConditionalGeneration`` (SigLIP on
    ``crop_size`` crops, 2-layer MLP projector, learned newline vector, Qwen2 decoder), its
    tokenizer (``<image>`` and Qwen's chat tokens) and an anyres image processor with the
    grid pinpoints 1x1, 1x2, 2x1 and 2x2 crops.

    Each crop (and the base image) gives ``(crop_size / patch_size)^2`` tokens: 16.
    """
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        Qwen2Config,
        SiglipVisionConfig,
    )
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )

    out = _new_dir(out_dir)
    tokenizer = train_tiny_tokenizer(
        ["<image>", "<video>", "<|im_start|>", "<|im_end|>"], corpus=_QWEN_CORPUS
    )
    c = crop_size
    pinpoints = [[c, c], [c, 2 * c], [2 * c, c], [2 * c, 2 * c]]
    vision = SiglipVisionConfig(
        **_vision_dims(vision_dim, layers, crop_size, patch_size), vision_use_head=False
    )
    text = Qwen2Config(**_text_dims(tokenizer, text_dim, layers))
    config = LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=pinpoints,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9",
    )
    processor = LlavaOnevisionImageProcessorPil(
        size={"height": c, "width": c}, image_grid_pinpoints=pinpoints
    )
    return _save_tiny(
        LlavaOnevisionForConditionalGeneration, config, tokenizer, processor, seed, out
    )
