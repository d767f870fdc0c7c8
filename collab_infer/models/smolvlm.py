"""The SmolVLM adapter (Idefics3 family: ``HuggingFaceTB/SmolVLM-256M-Instruct`` and kin).

Tokens. With image splitting the processor resizes the image so that its long side is
``size["longest_edge"]`` (2048 for SmolVLM-256M), cuts it into ``rows x cols`` tiles of
``max_image_size`` (512) and adds the whole image at tile size ("global image"). SigLIP
encodes each of the ``F = rows * cols + 1`` frames into ``P`` patch tokens (32 x 32 = 1024
of 768-d: ``split="vision"``, N = F P); the connector pixel-shuffles each 2 x 2 (or
``scale_factor``) block into one token of 4x the width and maps it to the decoder's width
(``split="projector"``: ``S = P / scale_factor^2`` = 64 tokens per frame, N = F S). Tokens
run frame by frame (tiles row-major, the global image last), each frame in raster order.

Resolution. The suite needs one N per model, so every image is first resized (Lanczos,
as the processor) to one ``image_size`` (default: a square of the processor's long side),
which fixes ``rows x cols``; ``image_splitting=False`` sends the global image only.

Prompt, as ``SmolVLMProcessor`` expands it: ``<|im_start|>User:`` + per tile
``<fake_token_around_image><row_r_col_c><image> * S`` (a newline after each row of tiles)
+ ``\\n<fake_token_around_image><global-img><image> * S<fake_token_around_image>`` + the
prompt + ``<end_of_utterance>\\nAssistant:``. A dropped subset keeps its tile structure:
given ``positions`` (indices 0..N-1, ascending), each frame holds its own kept tokens.
Positions are otherwise 1-D (contiguous).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.hf_vlm import check_images
from collab_infer.models.processor import PreprocessOptionsVLM, load_image_processor

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["SmolVLM", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE"]

DEFAULT_CHECKPOINT = "HuggingFaceTB/SmolVLM-256M-Instruct"
DEFAULT_TEMPLATE = "<|im_start|>User:<image>{prompt}<end_of_utterance>\nAssistant:"


class _SmolPreprocess:
    """Resize to ``image_size``, then the SmolVLM image processor:
    ``(pixel_values [B, F, 3, T, T], pixel_attention_mask [B, F, T, T])``."""

    def __init__(self, processor: Any, image_size: tuple[int, int], splitting: bool) -> None:
        from PIL import Image as PILImage

        self.processor = processor
        self.image_size = image_size
        self.splitting = splitting
        probe = self._run([PILImage.new("RGB", image_size[::-1])])
        self.rows, self.cols = int(probe["rows"][0][0]), int(probe["cols"][0][0])
        self.frames = int(probe["pixel_values"].shape[1])

    def _run(self, images: list[Image.Image]) -> Any:
        return self.processor(
            images=[[im] for im in images],
            return_tensors="pt",
            return_row_col_info=True,
            do_image_splitting=self.splitting,
        )

    def __call__(self, images: Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image as PILImage

        h, w = self.image_size
        rgb = [im.convert("RGB").resize((w, h), PILImage.Resampling.LANCZOS) for im in images]
        out = self._run(rgb)
        return out["pixel_values"], out["pixel_attention_mask"]


class SmolVLM(PreprocessOptionsVLM):
    """SmolVLM / Idefics3: SigLIP per frame (``split="vision"``) -> pixel shuffle + linear
    connector (``split="projector"``) -> Llama-family decoder.

    >>> vlm = SmolVLM.from_pretrained("HuggingFaceTB/SmolVLM-256M-Instruct")  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "smolvlm"
    model_type: ClassVar[str] = "smolvlm"
    model_class: ClassVar[str] = "SmolVLMForConditionalGeneration"
    default_prompt: ClassVar[str] = "Describe this image in one sentence."
    option_names: ClassVar[tuple[str, ...]] = ("image_size", "image_splitting")
    prompt_uses_positions: ClassVar[bool] = True
    template: str = DEFAULT_TEMPLATE

    @classmethod
    def _load_preprocess(
        cls,
        source: str,
        local_dir: Path,
        image_size: int | Sequence[int] | None = None,
        image_splitting: bool = True,
    ) -> _SmolPreprocess:
        from collab_infer.models.qwen2_5_vl import _check_size

        if not isinstance(image_splitting, bool):
            raise ValueError(f"image_splitting must be True or False, got {image_splitting!r}")
        processor = load_image_processor(cls, source, local_dir)
        if image_size is None:
            image_size = int(processor.size["longest_edge"])
        return _SmolPreprocess(processor, _check_size(image_size), image_splitting)

    def _find_projector(self, model: Any) -> Any:
        return model.model.connector

    def _find_language_model(self, model: Any) -> Any:
        return model.model.text_model

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        vision = config.vision_config
        side = vision.image_size // vision.patch_size
        self._shuffled_side = side // int(config.scale_factor)  # tokens per frame side
        if self.split == "projector":
            side = self._shuffled_side
        self.frame_tokens = side * side
        n = self.preprocess.frames * self.frame_tokens
        grid = (side, side) if self.preprocess.frames == 1 else None  # tiles: no single grid
        return n, grid, int(vision.hidden_size)

    def describe(self) -> dict:
        d = super().describe()
        pre = self.preprocess
        d.update(image_size=list(pre.image_size), tiles=[pre.rows, pre.cols], frames=pre.frames)
        return d

    # ------------------------------------------------------------------ edge
    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch

        images = check_images(images)
        pixels, mask = self.preprocess(images)
        if pixels.shape[1] != self.preprocess.frames:
            raise RuntimeError(f"{self.name}: expected {self.preprocess.frames} frames per image")
        captured: dict[str, torch.Tensor] = {}
        handle = self._projector.register_forward_hook(
            lambda m, args, out: captured.update(vision=args[0], projector=out)
        )
        try:
            with torch.inference_mode():
                self.model.model.get_image_features(
                    pixels.to(self.device, self.dtype), mask.to(self.device)
                )
        finally:
            handle.remove()
        b = pixels.shape[0]
        return captured[self.split].reshape(b, self.n_tokens, -1).float().cpu()

    def pixel_values(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """The frames ``[B, F, 3, T, T]`` on the model's device and dtype."""
        images = check_images(images)
        return self.preprocess(list(images))[0].to(self.device, self.dtype)

    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[0] != self.n_tokens:
            raise ValueError(
                f"{self.adapter}'s connector pixel-shuffles whole frames, so split='vision' "
                f"needs all {self.n_tokens} tokens (got {feats.shape[0]}); use "
                "split='projector' for a dropped subset"
            )
        frames = feats.view(self.preprocess.frames, self.frame_tokens, -1)
        return self._projector(frames).reshape(-1, self.model.config.text_config.hidden_size)

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """The connector on ``[B, N_vision, D]`` tokens: ``[B, N, D_text]`` (float32, CPU)."""
        import torch

        with torch.inference_mode():
            x = tokens.to(self.device, self.dtype)
            return torch.stack([self._apply_projector(t) for t in x]).float().cpu()

    # ---------------------------------------------------------------- server
    def _frame_counts(self, n: int, pos: torch.Tensor | None, index: int) -> list[int]:
        import torch

        # counted after the connector (the decoder's tokens), whatever the split
        frames = self.preprocess.frames
        per = self._shuffled_side**2
        if pos is None:
            if n != frames * per:
                raise ValueError(
                    f"{self.adapter} places tokens in their tiles: tokens[{index}] has N_i={n} "
                    f"!= N={frames * per}, so pass positions[{index}] (the kept tokens' "
                    "indices 0..N-1, ascending, e.g. a subset payload's positions)"
                )
            return [per] * frames
        if not isinstance(pos, torch.Tensor) or pos.ndim != 1 or pos.shape[0] != n:
            raise ValueError(f"positions[{index}] must be a 1-D tensor of {n} token indices")
        pos = pos.long().cpu()
        if int(pos.min()) < 0 or int(pos.max()) >= frames * per:
            raise ValueError(f"positions[{index}] must lie in 0..{frames * per - 1}")
        if n > 1 and not bool((pos[1:] > pos[:-1]).all()):
            raise ValueError(f"positions[{index}] must be strictly ascending (frame order)")
        return torch.bincount(pos // per, minlength=frames).tolist()

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        return self._prompt_ids_at(n_tokens, prompt, None, 0)

    def _prompt_ids_at(
        self, n_tokens: int, prompt: str, positions: torch.Tensor | None, index: int
    ) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        counts = self._frame_counts(n_tokens, positions, index)
        image = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        fake, glob = "<fake_token_around_image>", "<global-img>"
        rows, cols = self.preprocess.rows, self.preprocess.cols
        text = ""
        if self.preprocess.frames > 1:
            for r in range(rows):
                for c in range(cols):
                    text += f"{fake}<row_{r + 1}_col_{c + 1}>" + image * counts[r * cols + c]
                text += "\n"
            text += "\n"
        text += f"{fake}{glob}" + image * counts[-1] + fake
        full = self.template.replace("<image>", text).replace("{prompt}", prompt)
        return list(self.tokenizer(full)["input_ids"])
