"""The built-in captioner: the PaliGemma adapter on the packaged checkpoint directory
``collab_infer/models/default_model/`` (config, tokenizer, preprocessor config, weights).

When the weights file is absent (a checkout before training, or a slim install) the same
architecture is built from ``config.json`` with a fixed-seed random initialisation, so every
code path still runs offline; :meth:`describe` then reports ``weights: "random-init"``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from collab_infer.models.hub import CheckpointError, resolve_checkpoint
from collab_infer.models.paligemma import PaliGemma

__all__ = ["DefaultCaptioner", "DEFAULT_MODEL_DIR", "RANDOM_INIT_SEED"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
RANDOM_INIT_SEED = 0
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")

log = logging.getLogger(__name__)


class DefaultCaptioner(PaliGemma):
    """The suite's own small captioner (PaliGemma architecture), prompt ``"caption en"``."""

    adapter: ClassVar[str] = "default"

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        split: str = "projector",
        prompt: str | None = None,
        device_map: Any = None,
        **options: Any,
    ) -> DefaultCaptioner:
        """Load the packaged default model (or the same format from ``name_or_path``).

        :param device_map: as for the Hugging Face adapters (the default model fits anywhere).
        :raises CheckpointError: the directory or its config/tokenizer/preprocessor is missing.
        :raises ValueError: any ``options`` (the default model has none).
        """
        if options:
            raise ValueError(f"the default model takes no options, got {sorted(options)}")
        import torch
        from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

        from collab_infer.models.loading import read_weights_marker, resolve_dtype
        from collab_infer.models.preprocess import load_preprocessor
        from collab_infer.runtime import pick_device

        directory = Path(name_or_path) if name_or_path is not None else DEFAULT_MODEL_DIR
        if not (directory / "config.json").is_file():
            raise CheckpointError(
                f"the default captioner's config is missing ({directory / 'config.json'}): "
                "reinstall collab-infer, or pass --model with a PaliGemma checkpoint"
            )
        ckpt = resolve_checkpoint(str(directory))
        cls._check_model_type(ckpt.model_type, str(directory))
        device = pick_device(device)
        torch_dtype = resolve_dtype(dtype, device)
        preprocess = load_preprocessor(directory)
        tokenizer = _load_fast_tokenizer(directory)
        if any((directory / f).is_file() for f in _WEIGHT_FILES):
            model = cls._load_model(str(directory), torch_dtype, device_map=device_map)
            # the packaged weights were trained by the suite; a tiny test copy says "random-init"
            marker = read_weights_marker(directory)
            weights = "pretrained" if marker == "checkpoint" else marker
        else:
            log.warning(
                "no weights in %s: using a random initialisation (seed %d); captions will be "
                "meaningless until the default model is trained",
                directory,
                RANDOM_INIT_SEED,
            )
            config = PaliGemmaConfig.from_pretrained(str(directory))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(RANDOM_INIT_SEED)
                model = PaliGemmaForConditionalGeneration(config)
            model = model.to(torch_dtype)
            weights = "random-init"
        checkpoint = "default" if name_or_path is None else str(directory)
        return cls(
            model if device_map is not None else model.to(device),
            tokenizer,
            preprocess,
            checkpoint=checkpoint,
            split=split,
            prompt=prompt,
            weights=weights,
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.checkpoint == "default":
            self.name = "default"


def _load_fast_tokenizer(directory: Path) -> Any:
    from transformers import PreTrainedTokenizerFast

    try:
        return PreTrainedTokenizerFast.from_pretrained(str(directory))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot load the tokenizer of {directory}: {exc}") from exc
