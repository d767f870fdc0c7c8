"""Save / load the default captioner directory (HF checkpoint + tokenizer + preprocessor)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["save_checkpoint", "load_checkpoint", "preprocessor_config"]


def preprocessor_config(image_size: int) -> dict:
    """The image preprocessing the model expects (SigLIP-style, like PaliGemma's)."""
    return {
        "do_resize": True,
        "size": {"height": image_size, "width": image_size},
        "image_size": image_size,
        "resample": 2,  # PIL.Image.BILINEAR
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "do_convert_rgb": True,
    }


def save_checkpoint(model, tokenizer, out_dir: str | Path, meta: dict | None = None) -> Path:
    """Write ``config.json``, ``model.safetensors``, tokenizer files, ``preprocessor_config.json``
    and (if given) ``meta.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    size = model.config.vision_config.image_size
    (out / "preprocessor_config.json").write_text(
        json.dumps(preprocessor_config(size), indent=2) + "\n"
    )
    if meta is not None:
        (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def load_checkpoint(path: str | Path, *, device: str = "cpu"):
    """``(model, tokenizer)`` from a directory written by :func:`save_checkpoint`."""
    from transformers import PaliGemmaForConditionalGeneration, PreTrainedTokenizerFast

    p = Path(path)
    if not (p / "config.json").is_file():
        raise ValueError(
            f"{p} is not a checkpoint directory (no config.json); train one with "
            "`collab-infer train-default --out DIR`"
        )
    model = PaliGemmaForConditionalGeneration.from_pretrained(p).to(device).eval()
    tok = PreTrainedTokenizerFast.from_pretrained(p)
    return model, tok
