"""The InternVL adapter (InternVL3 in transformers' format: ``OpenGVLab/InternVL3-1B-hf``).

Tokens. The image processor cuts the image into ``T`` tiles of 448 x 448 (a grid chosen
from the aspect ratio, at most ``max_patches``) plus a thumbnail of the whole image when
``T > 1``. InternViT encodes each tile into 32 x 32 patch features (CLS dropped); a pixel
shuffle (``downsample_ratio = 0.5``) folds each 2 x 2 block into one token of 4x the width
(``split="vision"``: 4096-d for InternVL3-1B), and the projector (LayerNorm + 2-layer MLP,
per token) maps it to the decoder's width (``split="projector"``). That gives ``S = 256``
tokens per tile, ``N = T S``, tile after tile, each tile in raster order. The projector
acts per token, so the ``"vision"`` split takes any subset.

Resolution. One ``N`` per model: every image is first resized (bicubic) to one
``image_size`` (default: the tile size, one tile), which fixes ``T``; larger sizes give
more tiles (e.g. ``image_size=(448, 896)``: 2 tiles + thumbnail, N = 768).

Prompt, as ``InternVLProcessor`` expands it: the Qwen-style chat template with
``<img>`` + ``<IMG_CONTEXT> * N_i`` + ``</img>`` in place of ``<image>``. Positions are 1-D:
the ``N_i`` tokens lie contiguously.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.processor import SizedPreprocessVLM

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["InternVL", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE"]

DEFAULT_CHECKPOINT = "OpenGVLab/InternVL3-1B-hf"
DEFAULT_TEMPLATE = "<|im_start|>user\n<image>\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


class _TilePreprocess:
    """Resize to ``image_size``, then the checkpoint's tiling image processor:
    ``(pixel_values [B * T, 3, t, t], tiles per image T)``."""

    def __init__(self, processor: Any, image_size: tuple[int, int]) -> None:
        from PIL import Image as PILImage

        self.processor = processor
        self.image_size = image_size
        self.tiles = int(self._run([PILImage.new("RGB", image_size[::-1])])[1][0])

    def _run(self, images: list[Image.Image]) -> tuple[torch.Tensor, list[int]]:
        out = self.processor(images=images, return_tensors="pt")
        patches = out.get("num_patches")
        counts = [1] * len(images) if patches is None else [int(p) for p in patches]
        return out["pixel_values"], counts

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        from PIL import Image as PILImage

        h, w = self.image_size
        rgb = [im.convert("RGB").resize((w, h), PILImage.Resampling.BICUBIC) for im in images]
        pixels, counts = self._run(rgb)
        if set(counts) != {self.tiles}:
            raise RuntimeError(f"expected {self.tiles} tiles per image, got {counts}")
        return pixels


class InternVL(SizedPreprocessVLM):
    """InternVL3: InternViT per tile -> pixel shuffle (``split="vision"``) -> LayerNorm +
    MLP projector (``split="projector"``) -> Qwen2.5 decoder.

    >>> vlm = InternVL.from_pretrained("OpenGVLab/InternVL3-1B-hf")  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "internvl"
    model_type: ClassVar[str] = "internvl"
    model_class: ClassVar[str] = "InternVLForConditionalGeneration"
    default_prompt: ClassVar[str] = "Describe this image in one sentence."
    preprocess_class: ClassVar[type] = _TilePreprocess
    template: str = DEFAULT_TEMPLATE

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        vision = config.vision_config
        side = int(vision.image_size[0]) // int(vision.patch_size[0])
        fold = int(round(1 / config.downsample_ratio))
        side //= fold
        self.tile_tokens = side * side
        tiles = self.preprocess.tiles
        grid = (side, side) if tiles == 1 else None  # several tiles: no single grid
        return tiles * self.tile_tokens, grid, int(vision.hidden_size) * fold * fold

    def describe(self) -> dict:
        d = super().describe()
        d.update(image_size=list(self.preprocess.image_size), tiles=self.preprocess.tiles)
        return d

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch

        pixels = self.pixel_values(images)
        captured: dict[str, torch.Tensor] = {}
        handle = self._projector.register_forward_hook(
            lambda m, args, out: captured.update(vision=args[0], projector=out)
        )
        try:
            with torch.inference_mode():
                self.model.model.get_image_features(
                    pixel_values=pixels,
                    vision_feature_layer=self.model.config.vision_feature_layer,
                    vision_feature_select_strategy=self.model.config.vision_feature_select_strategy,
                )
        finally:
            handle.remove()
        return captured[self.split].reshape(len(images), self.n_tokens, -1).float().cpu()

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        context = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        image = f"<img>{context * n_tokens}</img>"
        text = self.template.replace("<image>", image).replace("{prompt}", prompt)
        return list(self.tokenizer(text)["input_ids"])
