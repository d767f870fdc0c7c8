"""The LLaVA adapter (the Hugging Face ``llava`` family, e.g. ``llava-hf/llava-1.5-7b-hf``).

Prompt: ``template`` (default LLaVA-1.5's ``"USER: <image>\\n{prompt} ASSISTANT:"``) with
the one ``<image>`` expanded to ``N_i`` image tokens, tokenized as a whole with the
tokenizer's special tokens (``<s>``), exactly as ``LlavaProcessor`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from collab_infer.models.hf_vlm import HFVisionLanguageModel

__all__ = ["Llava", "DEFAULT_CHECKPOINT", "DEFAULT_TEMPLATE"]

DEFAULT_CHECKPOINT = "llava-hf/llava-1.5-7b-hf"
DEFAULT_TEMPLATE = "USER: <image>\n{prompt} ASSISTANT:"


class Llava(HFVisionLanguageModel):
    """LLaVA: CLIP vision tower (``split="vision"``: the selected layer, CLS dropped with the
    ``"default"`` strategy) -> MLP projector (``split="projector"``) -> Llama-family LM.

    The prompt (default LLaVA-1.5's COCO caption instruction) is placed in
    :attr:`template`, which must contain ``<image>`` and ``{prompt}`` once each.
    """

    adapter: ClassVar[str] = "llava"
    model_type: ClassVar[str] = "llava"
    model_class: ClassVar[str] = "LlavaForConditionalGeneration"
    default_prompt: ClassVar[str] = "Provide a one-sentence caption for the provided image."
    template: str = DEFAULT_TEMPLATE

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        vision = config.vision_config
        side = vision.image_size // vision.patch_size
        layers = config.vision_feature_layer
        width = int(vision.hidden_size) * (1 if isinstance(layers, int) else len(layers))
        if config.vision_feature_select_strategy == "full":
            return side * side + 1, None, width  # CLS + patches: not a grid
        return side * side, (side, side), width

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        if self.template.count("<image>") != 1 or "{prompt}" not in self.template:
            raise ValueError(
                f"template must contain '<image>' once and '{{prompt}}', got {self.template!r}"
            )
        image_token = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
        text = self.template.replace("<image>", image_token * n_tokens).replace("{prompt}", prompt)
        return list(self.tokenizer(text)["input_ids"])
