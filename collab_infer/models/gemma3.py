"""The Gemma 3 adapter (``google/gemma-3-4b-it`` and kin, hub id or directory).

Tokens. SigLIP-So400m sees a 896 x 896 image as 64 x 64 patches of 1152-d
(``split="vision"``: N = 4096 on a 64 x 64 grid); the projector average-pools 4 x 4 blocks
(16 x 16 = 256 tokens), RMS-normalises them and maps them to the decoder's width
(2560-d for 4B: ``split="projector"``, N = 256 like the seed paper's PaliGemma).
Because the projector pools over the grid, the ``"vision"`` split takes all N tokens
(VQ, fill, full); a dropped subset needs ``split="projector"``.

Prompt, as ``Gemma3Processor`` + the chat template build it: ``<bos><start_of_turn>user\\n``
+ ``\\n\\n<start_of_image>`` + ``<image_soft_token> * N_i`` + ``<end_of_image>\\n\\n`` +
prompt + ``<end_of_turn>\\n<start_of_turn>model\\n``. ``token_type_ids`` are 1 on the image
tokens: Gemma 3 attends bidirectionally within an image (the mask follows them), causally
elsewhere. Positions are 1-D: the ``N_i`` tokens lie contiguously.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.hf_vlm import HFVisionLanguageModel

if TYPE_CHECKING:
    import torch

__all__ = ["Gemma3", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE"]

DEFAULT_CHECKPOINT = "google/gemma-3-4b-it"
DEFAULT_TEMPLATE = "<bos><start_of_turn>user\n<image>{prompt}<end_of_turn>\n<start_of_turn>model\n"


class Gemma3(HFVisionLanguageModel):
    """Gemma 3: SigLIP (``split="vision"``) -> pool to ``mm_tokens_per_image`` + norm +
    linear (``split="projector"``) -> Gemma 3 decoder (sliding + global attention).

    >>> vlm = Gemma3.from_pretrained("google/gemma-3-4b-it")  # doctest: +SKIP
    >>> vlm.generate(list(vlm.encode([image])))  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "gemma3"
    model_type: ClassVar[str] = "gemma3"
    model_class: ClassVar[str] = "Gemma3ForConditionalGeneration"
    default_prompt: ClassVar[str] = "Describe this image in one sentence."
    template: str = DEFAULT_TEMPLATE

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        vision = config.vision_config
        if self.split == "vision":
            side = vision.image_size // vision.patch_size
        else:
            side = int(round(config.mm_tokens_per_image**0.5))
        return side * side, (side, side), int(vision.hidden_size)

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        cfg = self.model.config
        boi, soft, eoi = self.tokenizer.convert_ids_to_tokens(
            [cfg.boi_token_index, self.image_token_id, cfg.eoi_token_index]
        )
        image = f"\n\n{boi}{soft * n_tokens}{eoi}\n\n"
        text = self.template.replace("<bos>", self.tokenizer.bos_token or "")
        text = text.replace("<image>", image).replace("{prompt}", prompt)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[0] != self.n_tokens:
            raise ValueError(
                f"{self.adapter} pools the vision tower's {self.n_tokens} patch tokens on their "
                f"grid, so split='vision' needs all of them (got {feats.shape[0]}); use "
                "split='projector' for a dropped subset"
            )
        return self._projector(feats.unsqueeze(0))[0]

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """The projector (pool + norm + linear): ``[B, N_vision, D] -> [B, N, D_text]``."""
        import torch

        with torch.inference_mode():
            return self._projector(tokens.to(self.device, self.dtype)).float().cpu()

    def _extra_generate_kwargs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lengths: list[int],
        positions: list[torch.Tensor | None],
    ) -> dict[str, Any]:
        # 1 on the image tokens: bidirectional attention within the image
        return {"token_type_ids": (input_ids == self.image_token_id).long() * attention_mask}
