"""Shared loading steps of the adapters whose options are applied by their preprocessing.

InternVL, LLaVA-OneVision and SmolVLM each wrap the checkpoint's own
``AutoImageProcessor`` in a small callable that first resizes every image to one
``image_size`` (so one ``N`` per model). Their ``from_pretrained`` options are consumed
while building that callable; :class:`PreprocessOptionsVLM` drops them before the common
constructor, and :func:`load_image_processor` / :func:`processor_image_size` are the
loading steps they share; :class:`SizedPreprocessVLM` is the whole ``_load_preprocess`` of
those whose one option is ``image_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from collab_infer.models.hf_vlm import HFVisionLanguageModel
from collab_infer.models.hub import CheckpointError

__all__ = [
    "PreprocessOptionsVLM",
    "SizedPreprocessVLM",
    "load_image_processor",
    "processor_image_size",
]


class PreprocessOptionsVLM(HFVisionLanguageModel):
    """An :class:`HFVisionLanguageModel` whose :attr:`option_names` all go to
    ``_load_preprocess``: the constructor ignores them (already applied)."""

    def __init__(self, model: Any, tokenizer: Any, preprocess: Any, **kwargs: Any) -> None:
        for name in self.option_names:
            kwargs.pop(name, None)  # already applied by the preprocessing
        super().__init__(model, tokenizer, preprocess, **kwargs)


def load_image_processor(
    model_cls: type[HFVisionLanguageModel], source: str, local_dir: Path
) -> Any:
    """The checkpoint's ``AutoImageProcessor`` (``preprocessor_config.json`` fetched first
    for a hub snapshot); :class:`CheckpointError` naming ``source`` if it cannot load."""
    from transformers import AutoImageProcessor

    model_cls._fetch_preprocessor_config(source, local_dir)
    try:
        return AutoImageProcessor.from_pretrained(str(local_dir))
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot load the image processor of {source}: {exc}") from exc


def processor_image_size(processor: Any, image_size: int | Sequence[int] | None) -> tuple[int, int]:
    """``image_size`` checked as ``(height, width)`` in pixels; ``None``: the processor's
    own ``size["height"]`` x ``size["width"]``."""
    from collab_infer.models.qwen2_5_vl import _check_size

    if image_size is None:
        image_size = (int(processor.size["height"]), int(processor.size["width"]))
    return _check_size(image_size)


class SizedPreprocessVLM(PreprocessOptionsVLM):
    """A :class:`PreprocessOptionsVLM` whose one option is ``image_size``: the preprocessing
    is ``preprocess_class(image processor, (height, width))``, the size defaulting to the
    processor's own (:func:`processor_image_size`)."""

    option_names: ClassVar[tuple[str, ...]] = ("image_size",)
    #: called as ``preprocess_class(processor, (height, width))``
    preprocess_class: ClassVar[type]

    @classmethod
    def _load_preprocess(
        cls, source: str, local_dir: Path, image_size: int | Sequence[int] | None = None
    ) -> Any:
        processor = load_image_processor(cls, source, local_dir)
        return cls.preprocess_class(processor, processor_image_size(processor, image_size))
