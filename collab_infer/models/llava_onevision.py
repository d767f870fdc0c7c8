"""The LLaVA-OneVision adapter (``llava-hf/llava-onevision-qwen2-0.5b-ov-hf`` and kin).

Tokens (anyres). The processor picks the grid pinpoint that best fits the image (e.g.
768 x 768: 2 x 2 crops of 384), and sends the base image (the whole image at 384) plus the
crops. SigLIP gives 27 x 27 = 729 features per crop (``split="vision"``: all crops'
features, N = (1 + crops) x 729, 1152-d); the projector (2-layer MLP, per token) maps them
to the decoder's width, then ``pack_image_features`` stitches the crops into one grid,
removes the rows / columns that are padding for the image's aspect ratio, shrinks it
bilinearly if it exceeds ``anyres_max_9`` (9 crops' worth), and ends each grid row with a
learned newline vector. ``split="projector"`` gives the packed tokens *without* the
newlines: the base image's 729 tokens (raster order), then the grid's ``H' x W'``
tokens (raster order), N = 729 + H' W'. The newlines are parameters, not image content:
the server inserts them after each grid row, so a reducer never sees or sends them.

Segments. :attr:`segments` names the two parts, ``[(0, 729), (729, N)]`` (base image,
high-resolution grid), for a reducer run per part instead of over all N tokens.

Resolution. One ``N`` per model: every image is first resized (bicubic) to one
``image_size`` (default 384 x 384: base + one crop, N = 729 + 729), which fixes the
pinpoint, the unpadding and so ``H' x W'``.

Subsets. A dropped subset needs ``positions`` (indices 0..N-1): its base tokens come first,
then each grid row's kept tokens followed by that row's newline. ``split="vision"`` needs
all N tokens (the packing runs after the projector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.hf_vlm import check_images
from collab_infer.models.processor import SizedPreprocessVLM

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["LlavaOnevision", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE"]

DEFAULT_CHECKPOINT = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"
DEFAULT_TEMPLATE = "<|im_start|>user <image>\n{prompt}<|im_end|><|im_start|>assistant\n"


class _AnyresPreprocess:
    """Resize to ``image_size``, then the anyres image processor:
    ``(pixel_values [B, 1 + crops, 3, c, c], image_sizes [B, 2])``."""

    def __init__(self, processor: Any, image_size: tuple[int, int]) -> None:
        self.processor = processor
        self.image_size = image_size

    def __call__(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image as PILImage

        h, w = self.image_size
        rgb = [im.convert("RGB").resize((w, h), PILImage.Resampling.BICUBIC) for im in images]
        out = self.processor(images=rgb, return_tensors="pt")
        return out["pixel_values"], out["image_sizes"]


class LlavaOnevision(SizedPreprocessVLM):
    """LLaVA-OneVision: SigLIP per crop (``split="vision"``) -> MLP projector + anyres
    packing, newlines removed (``split="projector"``) -> Qwen2 decoder.

    >>> vlm = LlavaOnevision.from_pretrained(DEFAULT_CHECKPOINT)  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "llava_onevision"
    model_type: ClassVar[str] = "llava_onevision"
    model_class: ClassVar[str] = "LlavaOnevisionForConditionalGeneration"
    default_prompt: ClassVar[str] = "Describe this image in one sentence."
    preprocess_class: ClassVar[type] = _AnyresPreprocess
    template: str = DEFAULT_TEMPLATE

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        import math

        import torch
        from transformers.models.llava_onevision.modeling_llava_onevision import (
            get_anyres_image_grid_shape,
            unpad_image,
        )

        vision = config.vision_config
        side = vision.image_size // vision.patch_size  # per crop
        size = torch.tensor(self.preprocess.image_size)
        ph, pw = get_anyres_image_grid_shape(size, config.image_grid_pinpoints, vision.image_size)
        # the packing's shapes, on an empty 1-channel grid (pack_image_features' own steps)
        grid = unpad_image(torch.zeros(1, ph * side, pw * side), size)
        gh, gw = grid.shape[1:]
        most = int(config.vision_aspect_ratio.removeprefix("anyres_max_"))
        ratio = math.sqrt(gh * gw / (most * side**2))
        if ratio > 1.1:
            gh, gw = int(gh // ratio), int(gw // ratio)
        self.crops, self.grid_shape = ph * pw, (int(gh), int(gw))
        self.base_tokens = side * side
        self.segments = [(0, self.base_tokens), (self.base_tokens, self.base_tokens + gh * gw)]
        self._image_sizes = size.view(1, 2)
        if self.split == "vision":
            return (1 + self.crops) * side * side, None, int(vision.hidden_size)
        return self.base_tokens + int(gh * gw), None, int(vision.hidden_size)

    def describe(self) -> dict:
        d = super().describe()
        d.update(
            image_size=list(self.preprocess.image_size),
            crops=self.crops,
            grid_shape=list(self.grid_shape),
            segments=[list(s) for s in self.segments],
        )
        return d

    # ------------------------------------------------------------------ edge
    def pixel_values(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        images = check_images(images)
        pixels, sizes = self.preprocess(list(images))
        return pixels.to(self.device, self.dtype), sizes.to(self.device)

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch

        pixels, sizes = self.pixel_values(images)
        captured: dict[str, torch.Tensor] = {}
        handle = self._projector.register_forward_hook(
            lambda m, args, out: captured.update(vision=args[0])
        )
        try:
            with torch.inference_mode():
                out = self.model.model.get_image_features(pixels, sizes)
        finally:
            handle.remove()
        b = len(images)
        if self.split == "vision":
            return captured["vision"].reshape(b, self.n_tokens, -1).float().cpu()
        packed = torch.stack(list(out.pooler_output))  # [B, N + H', D]
        return packed[:, self._keep_mask(packed.device)].float().cpu()

    def _keep_mask(self, device: Any) -> torch.Tensor:
        """True on the packed positions that are image tokens (not newlines)."""
        import torch

        gh, gw = self.grid_shape
        grid = torch.ones(gh, gw + 1, dtype=torch.bool, device=device)
        grid[:, -1] = False
        return torch.cat(
            [torch.ones(self.base_tokens, dtype=torch.bool, device=device), grid.flatten()]
        )

    # ---------------------------------------------------------------- server
    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[0] != self.n_tokens:
            raise ValueError(
                f"{self.adapter} packs the crops after the projector, so split='vision' needs "
                f"all {self.n_tokens} tokens (got {feats.shape[0]}); use split='projector' "
                "for a dropped subset"
            )
        per_crop = self.base_tokens
        projected = self._projector(feats.view(1 + self.crops, per_crop, -1))
        packed, _ = self.model.model.pack_image_features(
            [projected],
            self._image_sizes.to(feats.device),
            image_newline=self.model.model.image_newline,
            vision_aspect_ratio=self.model.config.vision_aspect_ratio,
        )
        return packed[0]  # newlines included

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """Projector + packing, newlines removed: ``[B, N_vision, D] -> [B, N, D_text]``."""
        import torch

        with torch.inference_mode():
            x = tokens.to(self.device, self.dtype)
            keep = self._keep_mask(x.device)
            return torch.stack([self._apply_projector(t)[keep] for t in x]).float().cpu()

    def _decoder_feats(
        self, feats: torch.Tensor, positions: torch.Tensor | None, index: int
    ) -> torch.Tensor:
        """Insert the newline vector after each grid row (``split="projector"``)."""
        import torch

        if self.split == "vision":
            return feats  # packed with its newlines by _apply_projector
        n_full = self.base_tokens + self.grid_shape[0] * self.grid_shape[1]
        if positions is None:
            if feats.shape[0] != n_full:
                raise ValueError(
                    f"{self.adapter} ends each grid row with a newline: tokens[{index}] has "
                    f"N_i={feats.shape[0]} != N={n_full}, so pass positions[{index}] (the kept "
                    "tokens' indices 0..N-1, ascending)"
                )
            positions = torch.arange(n_full)
        elif not isinstance(positions, torch.Tensor) or positions.shape != (feats.shape[0],):
            raise ValueError(f"positions[{index}] must be a 1-D tensor of {feats.shape[0]} indices")
        pos = positions.long().cpu()
        if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) >= n_full):
            raise ValueError(f"positions[{index}] must lie in 0..{n_full - 1}")
        if pos.numel() > 1 and not bool((pos[1:] > pos[:-1]).all()):
            raise ValueError(f"positions[{index}] must be strictly ascending")
        gh, gw = self.grid_shape
        newline = self.model.model.image_newline.to(feats.dtype).view(1, -1)
        row = (pos - self.base_tokens).div(gw, rounding_mode="floor")  # base tokens: < 0
        parts = [feats[row < 0]]
        for r in range(gh):
            parts += [feats[(row == r).to(feats.device)], newline]
        return torch.cat(parts)

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        image = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        text = self.template.replace("<image>", image * n_tokens).replace("{prompt}", prompt)
        return list(self.tokenizer(text)["input_ids"])
