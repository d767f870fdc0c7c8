"""The default captioner's architecture: a small SigLIP vision tower + a small Gemma decoder
wrapped as Hugging Face ``PaliGemmaForConditionalGeneration`` (prefix-LM)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ArchSpec", "DEFAULT_ARCH", "build_config", "build_model"]


@dataclass(frozen=True)
class ArchSpec:
    """Sizes of the default captioner.

    ``image_size / patch_size`` squared is the number of visual tokens N.
    """

    image_size: int = 64
    patch_size: int = 8
    vision_hidden: int = 128
    vision_layers: int = 3
    vision_heads: int = 4
    vision_intermediate: int = 512
    text_hidden: int = 192
    text_layers: int = 3
    text_heads: int = 4
    text_kv_heads: int = 1
    text_head_dim: int = 48
    text_intermediate: int = 768

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size ({self.image_size}) must be a multiple of "
                f"patch_size ({self.patch_size})"
            )

    @property
    def n_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_ARCH = ArchSpec()


def build_config(arch: ArchSpec = DEFAULT_ARCH):
    """``PaliGemmaConfig`` for ``arch`` with the word-level tokenizer's ids."""
    from transformers import GemmaConfig, PaliGemmaConfig, SiglipVisionConfig

    from collab_infer.training.tokenizer import IMAGE_TOKEN, vocabulary

    vocab = vocabulary()
    vision = SiglipVisionConfig(
        hidden_size=arch.vision_hidden,
        intermediate_size=arch.vision_intermediate,
        num_hidden_layers=arch.vision_layers,
        num_attention_heads=arch.vision_heads,
        image_size=arch.image_size,
        patch_size=arch.patch_size,
        vision_use_head=False,
    )
    text = GemmaConfig(
        vocab_size=len(vocab),
        hidden_size=arch.text_hidden,
        intermediate_size=arch.text_intermediate,
        num_hidden_layers=arch.text_layers,
        num_attention_heads=arch.text_heads,
        num_key_value_heads=arch.text_kv_heads,
        head_dim=arch.text_head_dim,
        max_position_embeddings=256,
        pad_token_id=vocab.index("<pad>"),
        bos_token_id=vocab.index("<bos>"),
        eos_token_id=vocab.index("<eos>"),
    )
    cfg = PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=vocab.index(IMAGE_TOKEN),
        vocab_size=len(vocab),
        projection_dim=arch.text_hidden,
        hidden_size=arch.text_hidden,
    )
    cfg.pad_token_id = text.pad_token_id
    cfg.bos_token_id = text.bos_token_id
    cfg.eos_token_id = text.eos_token_id
    return cfg


def build_model(arch: ArchSpec = DEFAULT_ARCH, *, seed: int = 0):
    """A randomly initialised ``PaliGemmaForConditionalGeneration`` (weights from ``seed``)."""
    import torch
    from transformers import PaliGemmaForConditionalGeneration

    cfg = build_config(arch)
    cfg._attn_implementation = "sdpa"
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)  # HF initialises from the global generator; restored below
        model = PaliGemmaForConditionalGeneration(cfg)
    finally:
        torch.random.set_rng_state(state)
    return model
