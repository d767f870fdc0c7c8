"""The Qwen3-VL adapter (``Qwen/Qwen3-VL-4B-Instruct`` and kin, hub id or directory).

Qwen3-VL keeps Qwen2.5-VL's layout (a ViT on ``p x p`` patches, ``p = 16``; a 2 x 2 patch
merger to the decoder's width; ``N = h w`` tokens in raster order on the merged grid;
M-RoPE positions), so this adapter subclasses :class:`~collab_infer.models.qwen2_5_vl.
Qwen2_5_VL` and shares its preprocessing (``image_size`` default 512 x 512: 16 x 16 = 256
tokens), its prompt building and its M-RoPE position ids (3-D ids per token; a dropped
subset keeps its own grid cells through ``positions=``).

DeepStack. Qwen3-VL adds visual features from intermediate ViT blocks (the config's
``deepstack_visual_indexes``, ``L`` of them, 3 in the released models): each has its own
merger (2 x 2 blocks, post-shuffle norm, MLP) giving ``[N, D]`` at the merged-token
positions, and decoder layer ``l < L`` adds level ``l``'s features to its output hidden
states at the image-token positions. The last merger's tokens alone are therefore not
the whole visual input. This adapter's token for image position ``i`` is the
concatenation

    ``x_i = [main_i, deepstack_1_i, ..., deepstack_L_i]``,   ``D' = (1 + L) D``

(``D`` the decoder width for ``split="projector"``; for ``split="vision"`` each part is
its merger's ``4 C``-wide input and the server applies the ``1 + L`` mergers), so the
reducers, the codec and every bit count work on ``[N, (1 + L) D]`` and the payload
carries everything the decoder reads. The server splits each reconstructed
``[N', D']`` row back into the main embedding (written over the placeholder embeddings,
as for the other adapters) and the ``L`` DeepStack vectors, which it hands to the
decoder through the model's own ``visual_pos_masks`` / ``deepstack_visual_embeds``
arguments of the language model's forward, in the same order (placeholder order,
batch-major, each sample repeated per beam) as transformers' ``pixel_values`` path.
Unmodified tokens reproduce that path exactly (see the tests).

``deepstack="drop"`` sends the main tokens only (``D' = D``) and the server adds zero
DeepStack features: this **changes the model's computation** (the decoder no longer
sees the intermediate ViT features; the same as the ``pixel_values`` path with every
DeepStack merger's output set to zero) and is meant for measuring what DeepStack is
worth on the channel, not for reproducing the model.

Prompt: the Qwen3 chat format (no default system message), ``<image>`` standing for
``<|vision_start|><|image_pad|> * N_i<|vision_end|>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from collab_infer.models.qwen2_5_vl import Qwen2_5_VL, _QwenPreprocess

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["Qwen3VL", "DEEPSTACK_MODES", "DEFAULT_CHECKPOINT", "DEFAULT_IMAGE_SIZE"]

DEFAULT_CHECKPOINT = "Qwen/Qwen3-VL-4B-Instruct"
DEFAULT_IMAGE_SIZE = (512, 512)  # patch 16, merge 2: a 16 x 16 grid of 256 tokens
DEEPSTACK_MODES = ("send", "drop")
_TEMPLATE = "<|im_start|>user\n<image>{prompt}<|im_end|>\n<|im_start|>assistant\n"


def _check_deepstack(deepstack: str) -> str:
    if deepstack not in DEEPSTACK_MODES:
        raise ValueError(
            f"deepstack must be one of {DEEPSTACK_MODES} ('send': the payload carries the "
            f"DeepStack features, 'drop': main tokens only), got {deepstack!r}"
        )
    return deepstack


class Qwen3VL(Qwen2_5_VL):
    """Qwen3-VL: ViT -> 2 x 2 patch merger + ``L`` DeepStack mergers (``split="vision"``:
    their ``4 C``-wide inputs; ``split="projector"``: their ``D``-wide outputs), one token
    of ``(1 + L)`` parts per image position -> Qwen3 decoder with M-RoPE and DeepStack.

    >>> vlm = Qwen3VL.from_pretrained("Qwen/Qwen3-VL-4B-Instruct")  # doctest: +SKIP
    >>> vlm.generate(list(vlm.encode([image])))  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "qwen3_vl"
    model_type: ClassVar[str] = "qwen3_vl"
    model_class: ClassVar[str] = "Qwen3VLForConditionalGeneration"
    option_names: ClassVar[tuple[str, ...]] = (*Qwen2_5_VL.option_names, "deepstack")
    template: str = _TEMPLATE

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        preprocess: Any,
        deepstack: Literal["send", "drop"] = "send",
        **kwargs: Any,
    ) -> None:
        self.deepstack = _check_deepstack(deepstack)
        super().__init__(model, tokenizer, preprocess, **kwargs)
        self._deepstack_mergers = list(model.model.visual.deepstack_merger_list)
        #: L, the number of DeepStack levels of the checkpoint
        self.deepstack_levels = len(self._deepstack_mergers)
        self._parts = 1 + self.deepstack_levels if deepstack == "send" else 1
        self._part_dim = self.dim  # one part: 4 C (vision) or D (projector)
        self.dim = self._parts * self._part_dim
        self._pending: dict[str, Any] | None = None  # one generate call's DeepStack inputs

    @classmethod
    def _load_preprocess(
        cls,
        source: str,
        local_dir: Path,
        image_size: int | Sequence[int] = DEFAULT_IMAGE_SIZE,
        deepstack: Literal["send", "drop"] = "send",
        **options: Any,
    ) -> _QwenPreprocess:
        _check_deepstack(deepstack)
        return super()._load_preprocess(source, local_dir, image_size=image_size, **options)

    def describe(self) -> dict:
        d = super().describe()
        d["deepstack"] = self.deepstack
        d["deepstack_levels"] = self.deepstack_levels
        return d

    # ------------------------------------------------------------------ edge
    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """``[B, N, (1 + L) D]`` (``deepstack="send"``) or ``[B, N, D]`` (``"drop"``),
        float32 on the CPU; parts in the order main, DeepStack level 1, ..., L."""
        import torch

        pixels, grid = self._pixels_on_grid(images)
        mergers = [self._projector, *self._deepstack_mergers][: self._parts]
        inputs: dict[int, torch.Tensor] = {}
        handles = [
            m.register_forward_hook(lambda mod, args, out, k=k: inputs.update({k: args[0]}))
            for k, m in enumerate(mergers)
        ]
        try:
            with torch.inference_mode():
                out = self.model.model.get_image_features(pixels, grid)
        finally:
            for handle in handles:
                handle.remove()
        b = grid.shape[0]
        if self.split == "projector":
            levels = [out.pooler_output, *out.deepstack_features][: self._parts]
            parts = [torch.cat(level) for level in levels]
        else:  # each merger's input, [patches, C] with each 2 x 2 block's patches adjacent
            parts = [inputs[k].reshape(-1, self._part_dim) for k in range(self._parts)]
        tokens = torch.cat([p.view(b, self.n_tokens, self._part_dim) for p in parts], dim=-1)
        return tokens.float().cpu()

    # ---------------------------------------------------------------- server
    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        """Each part through its own merger: ``[M, (1 + L) 4 C] -> [M, (1 + L) D]``."""
        import torch

        width = self._patch_width(self.model.config)
        mergers = [self._projector, *self._deepstack_mergers][: self._parts]
        parts = feats.reshape(-1, self.dim).split(self._part_dim, dim=-1)
        return torch.cat(
            [m(p.reshape(-1, width)) for m, p in zip(mergers, parts, strict=True)], dim=-1
        )

    def _decoder_feats(
        self, feats: torch.Tensor, positions: torch.Tensor | None, index: int
    ) -> torch.Tensor:
        """Keep sample ``index``'s DeepStack parts (``[N_i, L, D]``; zeros for ``"drop"``)
        for the language model's forward and hand on the main part ``[N_i, D]``."""
        pending = self._pending_state()
        d = int(self.model.config.get_text_config().hidden_size)
        n = feats.shape[0]
        if self._parts > 1:
            deep = feats[:, d:].reshape(n, self.deepstack_levels, d)
        else:
            deep = feats.new_zeros(n, self.deepstack_levels, d)
        pending["deep"].append(deep)
        return feats[:, :d]

    def _extra_generate_kwargs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lengths: list[int],
        positions: list[torch.Tensor | None],
    ) -> dict[str, Any]:
        """Qwen2.5-VL's M-RoPE ids; also lays out the DeepStack inputs of the prefill as
        the model's own path does: ``visual_pos_masks [B * beams, L]`` (the placeholders)
        and, per level, the vectors of all placeholders in that mask's order."""
        import torch

        out = super()._extra_generate_kwargs(input_ids, attention_mask, lengths, positions)
        if self._pending is not None:  # inside generate
            pending = self._pending
            beams = pending["beams"]
            mask = (input_ids == self.image_token_id) & attention_mask.bool()
            pending["mask"] = mask.repeat_interleave(beams, 0)
            deep = [x for x in pending["deep"] for _ in range(beams)]
            pending["embeds"] = list(torch.cat(deep).unbind(1))  # L x [sum N_i * beams, D]
        return out

    def _pending_state(self) -> dict[str, Any]:
        if self._pending is None:
            raise RuntimeError(f"{self.name}: DeepStack inputs are built inside generate() only")
        return self._pending

    def generate(
        self,
        tokens: Sequence[torch.Tensor],
        prompt: str | None = None,
        *,
        max_new_tokens: int = 32,
        num_beams: int = 1,
        positions: Sequence[torch.Tensor | None] | None = None,
    ) -> list[str]:
        pending: dict[str, Any] = {"beams": max(int(num_beams), 1), "deep": [], "done": False}

        def add_deepstack(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
            embeds, mask = kwargs.get("inputs_embeds"), pending.get("mask")
            if pending["done"] or embeds is None or mask is None:
                return None
            if tuple(embeds.shape[:2]) != tuple(mask.shape):
                return None  # a decoding step
            kwargs["visual_pos_masks"] = mask.to(embeds.device)
            kwargs["deepstack_visual_embeds"] = [e.to(embeds.device) for e in pending["embeds"]]
            pending["done"] = True
            return args, kwargs

        self._pending = pending
        handle = self._language_model.register_forward_pre_hook(add_deepstack, with_kwargs=True)
        try:
            texts = super().generate(
                tokens,
                prompt,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                positions=positions,
            )
        finally:
            handle.remove()
            self._pending = None
        if not pending["done"]:
            raise RuntimeError(f"{self.name}: the DeepStack features were not injected")
        return texts
