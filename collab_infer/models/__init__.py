"""Vision-language model adapters behind one narrow interface (:class:`VLM`).

>>> from collab_infer.models import load
>>> vlm = load("default")                                   # doctest: +SKIP
>>> tokens = vlm.encode([image])                            # [1, N, D]  # doctest: +SKIP
>>> vlm.generate(list(tokens))                              # doctest: +SKIP

Names: ``"default"`` (the built-in captioner), a family (``"paligemma"``, ``"llava"``,
``"qwen2_5_vl"``, ...: its reference hub checkpoint), ``"<family>:<hub id or dir>"``, or
just a directory / hub id, whose ``config.json`` picks the adapter. transformers is
imported only when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collab_infer.models.base import SPLITS, VLM
from collab_infer.models.hub import CheckpointError
from collab_infer.registry import Registry

__all__ = ["VLM", "SPLITS", "MODELS", "CheckpointError", "load"]

MODELS: Registry = Registry("model")
MODELS.add("default", "collab_infer.models.default:DefaultCaptioner")
MODELS.add("paligemma", "collab_infer.models.paligemma:PaliGemma")
MODELS.add("llava", "collab_infer.models.llava:Llava")
MODELS.add("qwen2_5_vl", "collab_infer.models.qwen2_5_vl:Qwen2_5_VL")
MODELS.add("qwen2_vl", "collab_infer.models.qwen2_5_vl:Qwen2VL")
MODELS.add("qwen3_vl", "collab_infer.models.qwen3_vl:Qwen3VL")
MODELS.add("gemma3", "collab_infer.models.gemma3:Gemma3")
MODELS.add("smolvlm", "collab_infer.models.smolvlm:SmolVLM")
MODELS.add("internvl", "collab_infer.models.internvl:InternVL")
MODELS.add("llava_onevision", "collab_infer.models.llava_onevision:LlavaOnevision")

# config.json model_type -> adapter name
_BY_MODEL_TYPE = {
    "paligemma": "paligemma",
    "llava": "llava",
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen2_vl": "qwen2_vl",
    "qwen3_vl": "qwen3_vl",
    "gemma3": "gemma3",
    "smolvlm": "smolvlm",
    "idefics3": "smolvlm",
    "internvl": "internvl",
    "llava_onevision": "llava_onevision",
}
# adapter name -> the checkpoint its bare name means
_DEFAULT_SOURCES = {
    "paligemma": "google/paligemma-3b-pt-224",
    "llava": "llava-hf/llava-1.5-7b-hf",
    "qwen2_5_vl": "Qwen/Qwen2.5-VL-3B-Instruct",
    "qwen2_vl": "Qwen/Qwen2-VL-2B-Instruct",
    "qwen3_vl": "Qwen/Qwen3-VL-4B-Instruct",
    "gemma3": "google/gemma-3-4b-it",
    "smolvlm": "HuggingFaceTB/SmolVLM-256M-Instruct",
    "internvl": "OpenGVLab/InternVL3-1B-hf",
    "llava_onevision": "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
}


def load(
    name_or_path: str | Path = "default",
    *,
    device: str | None = None,
    dtype: Any = None,
    split: str = "projector",
    prompt: str | None = None,
    device_map: Any = None,
    **options: Any,
) -> VLM:
    """Load a VLM adapter.

    :param name_or_path: ``"default"``, an adapter name (``"paligemma"``, ``"llava"``: their
        reference hub checkpoints), ``"adapter:<hub id or directory>"``, or a directory /
        hub id (the adapter follows ``config.json``'s ``model_type``).
    :param device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
    :param dtype: ``torch.dtype`` or name; default float32 on CPU, bfloat16 on CUDA.
    :param split: ``"projector"`` (tokens after the multi-modal projector) or ``"vision"``
        (before it; the server applies the projector).
    :param prompt: the default prompt for :meth:`VLM.generate` (adapter default otherwise).
    :param device_map: a model too large for one GPU: ``"auto"`` or a module -> device dict
        (passed to ``from_pretrained``; needs ``accelerate``); Hugging Face adapters only.
    :param options: the adapter's own settings (e.g. ``image_size``, ``min_pixels``,
        ``max_pixels`` for ``qwen2_5_vl``); an unknown one is a ``ValueError``.
    :raises CheckpointError: missing checkpoint, unsupported architecture, no hub access.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    from collab_infer.runtime import check_device

    check_device(device)  # an unknown or absent device fails before any weights load
    spec = str(name_or_path)
    kwargs = {"device": device, "dtype": dtype, "split": split, "prompt": prompt, **options}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if spec in MODELS:
        source = _DEFAULT_SOURCES.get(spec)
        return MODELS.get(spec).from_pretrained(source, **kwargs)
    adapter, sep, source = spec.partition(":")
    if sep and adapter in MODELS and not Path(spec).exists():
        if not source:
            raise CheckpointError(f"{spec!r}: give a hub id or directory after '{adapter}:'")
        return MODELS.get(adapter).from_pretrained(source, **kwargs)
    if sep and not Path(spec).exists() and "/" not in adapter:
        MODELS.get(adapter)  # unknown adapter: did-you-mean error
    from collab_infer.models.hub import resolve_checkpoint

    ckpt = resolve_checkpoint(spec)
    if ckpt.model_type not in _BY_MODEL_TYPE:
        raise CheckpointError(
            f"{spec} is a {ckpt.model_type!r} checkpoint; supported architectures: "
            f"{', '.join(sorted(_BY_MODEL_TYPE))}. Pass a checkpoint of one of them, or "
            "'default'"
        )
    return MODELS.get(_BY_MODEL_TYPE[ckpt.model_type]).from_pretrained(spec, **kwargs)
