"""The Qwen2.5-VL adapter (``Qwen/Qwen2.5-VL-3B-Instruct`` and kin, hub id or directory).

Tokens. The vision tower (a ViT with 2-D RoPE and windowed attention) sees ``p x p``
patches (``p = 14``); its patch merger concatenates each 2 x 2 block of patch features
(``4 C``, 5120-d for the 3B model: ``split="vision"``) and maps them with an MLP to the
decoder's width (2048-d: ``split="projector"``). An image resized to ``H x W`` (multiples of
``2p``) gives a grid ``(t, h, w) = (1, H / 2p, W / 2p)`` of ``N = h w`` tokens, in raster
order.

Resolution. Qwen2.5-VL reads images at their own resolution; the suite's interface has one
``N`` per model, so every image is resized (bicubic) to one ``image_size`` first, then the
model's processor applies its own rule (``smart_resize``: multiples of ``2p``, total pixels
within ``[min_pixels, max_pixels]``). ``image_size`` (default 448 x 448: 16 x 16 = 256
tokens, the seed paper's N), ``min_pixels`` and ``max_pixels`` are adapter options.

Positions (M-RoPE). A text token at sequence index ``i`` has position ids
``(i, i, i)``; image token ``j`` on grid cell ``(r, c) = divmod(j, w)`` after ``s`` text
tokens has ``(s, s + r, s + c)``, and the text after the image continues from
``s + max(h, w)``. :meth:`generate` passes these ids itself: with all ``N`` tokens (VQ,
fill, full) they equal the model's own ``get_rope_index``; with a dropped subset each
kept token keeps its own grid cell's ids (give ``positions``) and the text after the image
keeps its ids too, as if the dropped tokens were still there.

Prompt: the Qwen chat format with the default system message, ``<image>`` standing for
``<|vision_start|><|image_pad|> * N_i<|vision_end|>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.hf_vlm import HFVisionLanguageModel, check_images
from collab_infer.models.hub import CheckpointError

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["Qwen2_5_VL", "Qwen2VL", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE", "DEFAULT_IMAGE_SIZE"]

DEFAULT_CHECKPOINT = "Qwen/Qwen2.5-VL-3B-Instruct"
DEFAULT_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n<image>{prompt}<|im_end|>\n<|im_start|>assistant\n"
)
DEFAULT_IMAGE_SIZE = (448, 448)


class _QwenPreprocess:
    """PIL images -> resized to ``image_size`` -> the checkpoint's Qwen2-VL image processor:
    ``(pixel_values [B * h' * w', 3 * 2 * p * p], image_grid_thw [B, 3])``."""

    def __init__(self, processor: Any, image_size: tuple[int, int], patch_size: int) -> None:
        self.processor = processor
        self.image_size = image_size
        self.grid_thw = (1, image_size[0] // patch_size, image_size[1] // patch_size)

    def __call__(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image as PILImage

        h, w = self.image_size
        rgb = [im.convert("RGB").resize((w, h), PILImage.Resampling.BICUBIC) for im in images]
        out = self.processor(images=rgb, return_tensors="pt")
        return out["pixel_values"], out["image_grid_thw"]


class Qwen2_5_VL(HFVisionLanguageModel):
    """Qwen2.5-VL: windowed ViT -> 2 x 2 patch merger (``split="vision"``: the merger's
    input, ``4 C`` wide) -> MLP (``split="projector"``) -> Qwen2 decoder with M-RoPE.

    >>> vlm = Qwen2_5_VL.from_pretrained("Qwen/Qwen2.5-VL-3B-Instruct")  # doctest: +SKIP
    >>> vlm.generate(list(vlm.encode([image])))  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "qwen2_5_vl"
    model_type: ClassVar[str] = "qwen2_5_vl"
    model_class: ClassVar[str] = "Qwen2_5_VLForConditionalGeneration"
    default_prompt: ClassVar[str] = "Describe this image in one sentence."
    option_names: ClassVar[tuple[str, ...]] = ("image_size", "min_pixels", "max_pixels")
    template: str = DEFAULT_TEMPLATE

    def __init__(self, model: Any, tokenizer: Any, preprocess: Any, **kwargs: Any) -> None:
        for name in self.option_names:
            kwargs.pop(name, None)  # already applied by the preprocessing
        self._grid_thw = preprocess.grid_thw
        super().__init__(model, tokenizer, preprocess, **kwargs)

    @classmethod
    def _load_preprocess(
        cls,
        source: str,
        local_dir: Path,
        image_size: int | Sequence[int] = DEFAULT_IMAGE_SIZE,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ) -> _QwenPreprocess:
        from transformers import AutoImageProcessor
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

        size = _check_size(image_size)
        for name, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int (pixels), got {value!r}")
        cls._fetch_preprocessor_config(source, local_dir)
        overrides = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
        try:
            processor = AutoImageProcessor.from_pretrained(str(local_dir), **overrides)
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(f"cannot load the image processor of {source}: {exc}") from exc
        patch, merge = int(processor.patch_size), int(processor.merge_size)
        lo, hi = int(processor.size["shortest_edge"]), int(processor.size["longest_edge"])
        if lo > hi:
            raise ValueError(f"min_pixels ({lo}) must not exceed max_pixels ({hi})")
        h, w = smart_resize(*size, factor=patch * merge, min_pixels=lo, max_pixels=hi)
        return _QwenPreprocess(processor, (h, w), patch)

    def _find_projector(self, model: Any) -> Any:
        return model.model.visual.merger

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        merge = int(config.vision_config.spatial_merge_size)
        _, gh, gw = self._grid_thw
        grid = (gh // merge, gw // merge)
        return grid[0] * grid[1], grid, self._patch_width(config) * merge * merge

    @staticmethod
    def _patch_width(config: Any) -> int:
        """The ViT's width C (the merger's input is 4 C wide)."""
        return int(config.vision_config.hidden_size)

    def describe(self) -> dict:
        d = super().describe()
        d["image_size"] = list(self.preprocess.image_size)
        return d

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        pad = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        image = f"<|vision_start|>{pad * n_tokens}<|vision_end|>"
        text = self.template.replace("<image>", image).replace("{prompt}", prompt)
        return list(self.tokenizer(text)["input_ids"])

    # ------------------------------------------------------------------ edge
    def pixel_values(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's preprocessing: ``(pixel_values, image_grid_thw)`` on its device."""
        images = check_images(images)
        pixels, grid = self.preprocess(list(images))
        return pixels.to(self.device, self.dtype), grid.to(self.device)

    def _pixels_on_grid(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`pixel_values`, checked to lie on this adapter's one grid."""
        import torch

        pixels, grid = self.pixel_values(images)
        if not (grid == torch.tensor(self._grid_thw, device=grid.device)).all():
            raise RuntimeError(f"{self.name}: expected every image on the grid {self._grid_thw}")
        return pixels, grid

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch
        from transformers.vision_utils import get_vision_window_index

        pixels, grid = self._pixels_on_grid(images)
        captured: dict[str, torch.Tensor] = {}
        handle = self._projector.register_forward_hook(
            lambda m, args, out: captured.update(vision=args[0])
        )
        try:
            with torch.inference_mode():
                out = self.model.model.get_image_features(pixels, grid)
        finally:
            handle.remove()
        b = grid.shape[0]
        if self.split == "projector":
            tokens = torch.cat(out.pooler_output).view(b, self.n_tokens, self.dim)
        else:
            blocks = captured["vision"].reshape(-1, self.dim)
            cfg = self.model.config.vision_config
            if getattr(cfg, "window_size", None):
                # Qwen2.5-VL's merger sees 2 x 2 blocks in window order: back to raster order
                window_index, _ = get_vision_window_index(
                    grid.cpu(), cfg.spatial_merge_size, cfg.window_size, cfg.patch_size
                )
                blocks = blocks[torch.argsort(window_index).to(blocks.device)]
            tokens = blocks.view(b, self.n_tokens, -1)
        return tokens.float().cpu()

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """The patch merger's MLP: ``[..., 4 C] -> [..., D_text]`` (float32, CPU)."""
        import torch

        with torch.inference_mode():
            x = tokens.to(self.device, self.dtype)
            return self._apply_projector(x).view(*x.shape[:-1], -1).float().cpu()

    # ---------------------------------------------------------------- server
    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        return self._projector(feats.reshape(-1, self._patch_width(self.model.config)))

    def _extra_generate_kwargs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lengths: list[int],
        positions: list[torch.Tensor | None],
    ) -> dict[str, Any]:
        """``position_ids [4, B, L]``: row 0 the text positions (the attention mask's running
        count, as ``generate`` makes them), rows 1-3 the M-RoPE ``(t, h, w)`` ids."""
        import torch

        h, w = self.grid
        out = torch.zeros((4, *input_ids.shape), dtype=torch.long)
        out[0] = (attention_mask.cumsum(-1) - 1).clamp(min=0) * attention_mask
        for i, (n, pos) in enumerate(zip(lengths, positions, strict=True)):
            cells = self._cells(i, n, pos)
            valid = attention_mask[i].bool()
            ids = input_ids[i, valid]
            image = (ids == self.image_token_id).nonzero().flatten()
            s = int(image[0])  # text tokens before the image
            seq = torch.arange(ids.shape[0]).expand(3, -1).clone()
            seq[:, image] = torch.stack([torch.full_like(cells, s), s + cells // w, s + cells % w])
            after = torch.arange(int(image[-1]) + 1, ids.shape[0])
            if len(after):  # the text after the image continues from s + max(h, w)
                seq[:, after] = after - after[0] + s + max(h, w)
            out[1:, i, valid] = seq
        return {"position_ids": out}

    def _cells(self, i: int, n: int, pos: torch.Tensor | None) -> torch.Tensor:
        """Grid cells (raster indices) of sample ``i``'s ``n`` tokens."""
        import torch

        if pos is None:
            if n != self.n_tokens:
                raise ValueError(
                    f"{self.adapter} places each visual token by its grid cell (M-RoPE): "
                    f"tokens[{i}] has N_i={n} != N={self.n_tokens}, so pass positions[{i}] "
                    "(the kept tokens' indices 0..N-1, e.g. a subset payload's positions)"
                )
            return torch.arange(n)
        if not isinstance(pos, torch.Tensor) or pos.ndim != 1 or pos.shape[0] != n:
            raise ValueError(f"positions[{i}] must be a 1-D tensor of {n} grid indices")
        pos = pos.long().cpu()
        if n and (int(pos.min()) < 0 or int(pos.max()) >= self.n_tokens):
            raise ValueError(f"positions[{i}] must lie in 0..{self.n_tokens - 1}")
        if torch.unique(pos).shape[0] != n:
            raise ValueError(f"positions[{i}] must not repeat a grid cell")
        return pos


class Qwen2VL(Qwen2_5_VL):
    """Qwen2-VL (``Qwen/Qwen2-VL-2B-Instruct``): the same tokens, grid and M-RoPE as
    Qwen2.5-VL; its ViT has no windowed attention and its width is ``embed_dim``."""

    adapter: ClassVar[str] = "qwen2_vl"
    model_type: ClassVar[str] = "qwen2_vl"
    model_class: ClassVar[str] = "Qwen2VLForConditionalGeneration"

    @staticmethod
    def _patch_width(config: Any) -> int:
        return int(config.vision_config.embed_dim)


def _check_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = (int(v) for v in image_size)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"image_size must be an int or (height, width), got {image_size!r}"
        ) from exc
    if min(h, w) < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return h, w
