"""The PaliGemma / PaliGemma 2 adapter (any Hugging Face checkpoint, hub id or directory).

Prompt layout exactly as ``PaliGemmaProcessor``: ``[<image>] * N + [<bos>] +
tokenize(prompt + "\\n")``; ``token_type_ids`` are 0 on the image tokens and the prompt
(the bidirectional prefix of PaliGemma's prefix-LM), generated tokens are causal.
"""

from __future__ import annotations

from typing import Any, ClassVar

from collab_infer.models.hf_vlm import HFVisionLanguageModel

__all__ = ["PaliGemma", "DEFAULT_CHECKPOINT"]

DEFAULT_CHECKPOINT = "google/paligemma-3b-pt-224"


class PaliGemma(HFVisionLanguageModel):
    """PaliGemma: SigLIP (``split="vision"``: e.g. 1152-d) -> Linear projector
    (``split="projector"``: e.g. 2048-d) -> Gemma, prompt ``"caption en"``.

    >>> vlm = PaliGemma.from_pretrained("google/paligemma-3b-pt-224")  # doctest: +SKIP
    >>> vlm.generate(list(vlm.encode([image])))  # doctest: +SKIP
    """

    adapter: ClassVar[str] = "paligemma"
    model_type: ClassVar[str] = "paligemma"
    model_class: ClassVar[str] = "PaliGemmaForConditionalGeneration"
    default_prompt: ClassVar[str] = "caption en"
    uses_token_type_ids: ClassVar[bool] = True

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        vision = config.vision_config
        side = vision.image_size // vision.patch_size
        return side * side, (side, side), int(vision.hidden_size)

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        bos = self.tokenizer.bos_token_id
        if bos is None:
            raise ValueError(f"{self.name}: the tokenizer has no bos token")
        text = self.tokenizer(prompt + "\n", add_special_tokens=False)["input_ids"]
        return [self.image_token_id] * n_tokens + [int(bos)] + list(text)
