"""Image preprocessing: PIL images -> ``pixel_values [B, 3, H, W]``.

Two formats of ``preprocessor_config.json`` are understood:

- a Hugging Face image processor config (it names ``image_processor_type``): loaded with
  ``AutoImageProcessor`` (SigLIP for PaliGemma, CLIP for LLaVA, ...);
- the suite's minimal format (the default captioner's): ``image_size`` (an int or
  ``[height, width]``), ``image_mean``, ``image_std`` and optionally ``rescale_factor``
  (default 1/255). Images are converted to RGB, resized bilinearly to
  ``image_size x image_size`` (PIL), rescaled and normalised:
  ``(pixel * rescale_factor - mean) / std``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collab_infer.models.hub import CheckpointError

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["ImagePreprocessor", "load_preprocessor"]


@dataclass(frozen=True)
class ImagePreprocessor:
    """Resize (bilinear) + rescale + normalise, the default captioner's preprocessing.

    :param image_size: ``(height, width)`` in pixels.
    :param image_mean: per-channel mean (3 values) subtracted after rescaling.
    :param image_std: per-channel std (3 values) divided by after subtracting the mean.
    :param rescale_factor: multiplies the 0-255 pixel values (default 1/255).
    """

    image_size: tuple[int, int]
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    rescale_factor: float = 1 / 255

    def __post_init__(self) -> None:
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ValueError(f"image_size must be (height, width) >= 1, got {self.image_size!r}")
        for key in ("image_mean", "image_std"):
            if len(getattr(self, key)) != 3:
                raise ValueError(f"{key} must have 3 values, got {getattr(self, key)!r}")
        if min(self.image_std) <= 0:
            raise ValueError(f"image_std must be > 0, got {self.image_std!r}")

    @classmethod
    def from_dict(cls, cfg: dict) -> ImagePreprocessor:
        size = cfg["image_size"]
        hw = (
            (int(size), int(size)) if isinstance(size, int | float) else tuple(int(s) for s in size)
        )
        return cls(
            image_size=hw,  # type: ignore[arg-type]
            image_mean=tuple(float(v) for v in cfg.get("image_mean", (0.5, 0.5, 0.5))),  # type: ignore[arg-type]
            image_std=tuple(float(v) for v in cfg.get("image_std", (0.5, 0.5, 0.5))),  # type: ignore[arg-type]
            rescale_factor=float(cfg.get("rescale_factor", 1 / 255)),
        )

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """:input images: ``B`` PIL images. :output: ``[B, 3, H, W]`` float32."""
        import numpy as np
        import torch
        from PIL import Image as PILImage

        h, w = self.image_size
        arrays = [
            np.asarray(im.convert("RGB").resize((w, h), PILImage.Resampling.BILINEAR), np.float32)
            for im in images
        ]
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) * self.rescale_factor
        mean = torch.tensor(self.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.image_std, dtype=torch.float32).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()


def load_preprocessor(directory: str | Path) -> Callable[[Sequence[Image.Image]], torch.Tensor]:
    """The image preprocessing of the checkpoint in ``directory``: a callable from a list of
    PIL images to ``pixel_values [B, 3, H, W]``."""
    path = Path(directory) / "preprocessor_config.json"
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing: a checkpoint directory needs its image preprocessing config "
            "(a Hugging Face preprocessor_config.json, or "
            "{'image_size', 'image_mean', 'image_std'})"
        )
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if "image_processor_type" in cfg:
        return _hf_preprocessor(Path(directory))
    if "image_size" in cfg:
        try:
            return ImagePreprocessor.from_dict(cfg)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"invalid {path}: {exc}") from exc
    raise CheckpointError(
        f"{path} names neither 'image_processor_type' (a Hugging Face image processor) nor "
        "'image_size' (the suite's minimal format); add one of them"
    )


def _hf_preprocessor(directory: Path) -> Callable[[Sequence[Image.Image]], torch.Tensor]:
    from transformers import AutoImageProcessor
    from transformers.utils import logging as hf_logging

    # Without torchvision transformers warns that it uses its PIL backend; that backend is
    # the reference implementation, so the warning is noise here.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        processor = AutoImageProcessor.from_pretrained(str(directory))
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot load the image processor of {directory}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)

    def preprocess(images: Sequence[Image.Image]) -> torch.Tensor:
        rgb = [im.convert("RGB") for im in images]
        return processor(images=rgb, return_tensors="pt")["pixel_values"]

    return preprocess
