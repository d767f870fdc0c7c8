"""Shared machinery of the Hugging Face VLM adapters (PaliGemma, LLaVA, Gemma 3, Qwen2.5-VL).

The families are ``vision_tower -> projector -> language_model`` with image placeholder
tokens in the prompt. The adapters use transformers' own code for everything
and change one thing only: the features written over the placeholder embeddings.

- ``encode`` runs ``model.model.get_image_features(pixel_values)`` (the model's own feature
  selection) with a forward hook on ``model.model.multi_modal_projector`` that captures its
  input (``split="vision"``) or output (``split="projector"``).
- ``generate`` builds, per sample, a prompt with ``N_i`` placeholder tokens, left-pads the
  batch (attention mask; positions follow from it), and calls ``model.generate`` on
  ``input_ids`` only. A forward pre-hook on ``model.model.language_model`` writes the given
  tokens over the placeholder embeddings of the prefill step, in placeholder order, exactly
  as the model's ``pixel_values`` path does with ``masked_scatter``. (transformers 5.24's
  ``mm_encoder_outputs`` would do the same, but PaliGemma needs one ``[B, N, D]`` tensor
  there, which rules out a different ``N_i`` per sample under beam search, and
  ``generate(inputs_embeds=...)`` raises for PaliGemma.)
- While ``generate`` runs, :mod:`collab_infer.models.prefill` trims the prompt pass
  (prefill) to what generation reads: the last decoder layer's output projection and MLP
  run on the last prompt position only, and on CPU the MLPs work through at most about
  a million intermediate values at a time (cache-sized pieces instead of one huge
  activation). Neither changes the numbers beyond float rounding; the tests compare the
  captions with transformers' own ``pixel_values`` path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from collab_infer.models.base import SPLITS, VLM
from collab_infer.models.hub import CheckpointError, resolve_checkpoint
from collab_infer.models.inputs import check_images, check_tokens, make_injector
from collab_infer.models.loading import (
    WEIGHTS_MARKER,
    quiet_loading,
    read_weights_marker,
    resolve_dtype,
)
from collab_infer.models.prefill import chunked_mlps, last_position_only

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = [
    "HFVisionLanguageModel",
    "check_images",
    "resolve_dtype",
    "read_weights_marker",
    "WEIGHTS_MARKER",
]


class HFVisionLanguageModel(VLM):
    """A transformers VLM with a ``multi_modal_projector`` and image placeholder tokens.

    Subclasses set :attr:`adapter`, :attr:`model_type`, :attr:`model_class`,
    :attr:`default_prompt` and implement :meth:`_prompt_ids` and :meth:`_layout`; families
    with other module names or position encodings override :meth:`_find_projector`,
    :meth:`_extra_generate_kwargs` and, for their own settings, :attr:`option_names`.
    """

    adapter: ClassVar[str]
    model_type: ClassVar[str]
    model_class: ClassVar[str]
    default_prompt: ClassVar[str]
    uses_token_type_ids: ClassVar[bool] = False
    #: True: the prompt's layout depends on each token's grid position (tiles)
    prompt_uses_positions: ClassVar[bool] = False
    #: keyword settings this adapter's ``from_pretrained`` accepts beyond the common ones
    option_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        preprocess: Callable[[Sequence[Image.Image]], torch.Tensor],
        *,
        checkpoint: str,
        split: str = "projector",
        prompt: str | None = None,
        weights: str = "checkpoint",
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.checkpoint = checkpoint
        self.split = split
        self.prompt = self.default_prompt if prompt is None else prompt
        self.weights = weights
        self.name = f"{self.adapter}:{checkpoint}"
        self.image_token_id = int(model.config.image_token_id)
        self._projector = self._find_projector(model)
        self._language_model = self._find_language_model(model)
        self.n_tokens, self.grid, vision_dim = self._layout(model.config)
        text_dim = int(model.config.get_text_config().hidden_size)
        self.dim = vision_dim if split == "vision" else text_dim
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = model.generation_config.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id
        if pad is None:
            raise CheckpointError(f"{checkpoint}: the tokenizer has neither a pad nor an eos token")
        self.pad_token_id = int(pad)

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        device: str | None = None,
        dtype: Any = None,
        split: str = "projector",
        prompt: str | None = None,
        device_map: Any = None,
        **options: Any,
    ) -> HFVisionLanguageModel:
        """Load a checkpoint (local directory or hub id) of this adapter's architecture.

        :param dtype: the weights are loaded in this dtype (``from_pretrained(dtype=...)``:
            an fp32 checkpoint loaded as bf16 is converted tensor by tensor, without first
            holding the whole fp32 model).
        :param device_map: spread a large model over several GPUs (``"auto"``, or a dict of
            module name -> device, as ``transformers``/``accelerate`` take it); ``device`` is
            then where inputs go (default: the first parameter's device).
        :param options: family settings named in :attr:`option_names` (e.g. Qwen2.5-VL's
            ``image_size``, ``min_pixels``, ``max_pixels``).
        :raises CheckpointError: missing, wrong architecture, no hub access, bad files.
        :raises ValueError: an unknown option.
        """
        from collab_infer.runtime import pick_device

        if device_map is not None:
            import importlib.util

            if importlib.util.find_spec("accelerate") is None:
                raise ValueError(
                    "device_map needs the accelerate package (pip install accelerate); "
                    "without it, pass device= to put the whole model on one device"
                )
        unknown = sorted(set(options) - set(cls.option_names))
        if unknown:
            valid = ", ".join(cls.option_names) or "none"
            raise ValueError(f"unknown {cls.adapter} option(s) {unknown}; valid options: {valid}")
        ckpt = resolve_checkpoint(name_or_path)
        cls._check_model_type(ckpt.model_type, name_or_path)
        device = pick_device(device)
        torch_dtype = resolve_dtype(dtype, device)
        preprocess = cls._load_preprocess(ckpt.source, ckpt.local_dir, **options)
        tokenizer = cls._load_tokenizer(ckpt.source)
        model = cls._load_model(ckpt.source, torch_dtype, device_map=device_map)
        if device_map is None:
            model = model.to(device)
        return cls(
            model,
            tokenizer,
            preprocess,
            checkpoint=name_or_path,
            split=split,
            prompt=prompt,
            weights=read_weights_marker(ckpt.local_dir),
            **options,
        )

    @classmethod
    def _check_model_type(cls, model_type: str, name_or_path: str) -> None:
        if model_type != cls.model_type:
            raise CheckpointError(
                f"{name_or_path} is a {model_type!r} checkpoint, not {cls.model_type!r}: pass a "
                f"{cls.model_type} checkpoint, or load it with the matching adapter "
                f"(collab_infer.models.load('{name_or_path}') picks it from config.json)"
            )

    @classmethod
    def _load_model(cls, source: str, dtype: torch.dtype, *, device_map: Any = None) -> Any:
        import transformers

        model_cls = getattr(transformers, cls.model_class)
        kwargs: dict[str, Any] = {"dtype": dtype}
        if device_map is not None:
            kwargs["device_map"] = device_map
        try:
            with quiet_loading():
                return model_cls.from_pretrained(source, **kwargs)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise CheckpointError(
                f"cannot load the {cls.model_type} weights of {source}: {exc}"
            ) from exc

    @classmethod
    def _load_tokenizer(cls, source: str) -> Any:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"cannot load the tokenizer of {source}: {exc}") from exc

    @classmethod
    def _load_preprocess(
        cls, source: str, local_dir: Path, **options: Any
    ) -> Callable[[Sequence[Image.Image]], Any]:
        from collab_infer.models.preprocess import load_preprocessor

        cls._fetch_preprocessor_config(source, local_dir)
        return load_preprocessor(local_dir)

    @staticmethod
    def _fetch_preprocessor_config(source: str, local_dir: Path) -> None:
        if not (local_dir / "preprocessor_config.json").is_file() and source != str(local_dir):
            # a hub snapshot holds only the files fetched so far
            from huggingface_hub import hf_hub_download

            try:
                hf_hub_download(source, "preprocessor_config.json")
            except Exception as exc:  # any hub failure: say what is missing
                raise CheckpointError(
                    f"cannot fetch preprocessor_config.json of {source}: {exc}"
                ) from exc

    # ------------------------------------------------------------ subclasses
    def _find_projector(self, model: Any) -> Any:
        """The module between the two splits: its input is the ``"vision"`` split's tokens
        and its output the ``"projector"`` split's."""
        return model.model.multi_modal_projector

    def _find_language_model(self, model: Any) -> Any:
        """The decoder stack whose ``inputs_embeds`` get the visual tokens."""
        return model.model.language_model

    def _prompt_ids_at(
        self, n_tokens: int, prompt: str, positions: torch.Tensor | None, index: int
    ) -> list[int]:
        """Sample ``index``'s input ids when :attr:`prompt_uses_positions`."""
        raise NotImplementedError

    def _apply_projector(self, feats: torch.Tensor) -> torch.Tensor:
        """The projector on one sample's ``[N_i, D_vision]`` tokens: ``[N_i, D_text]``."""
        return self._projector(feats)

    def _decoder_feats(
        self, feats: torch.Tensor, positions: torch.Tensor | None, index: int
    ) -> torch.Tensor:
        """Sample ``index``'s vectors as the decoder reads them (``[N_i, D_text]`` in; more
        rows where a family adds learned vectors, e.g. LLaVA-OneVision's newlines)."""
        return feats

    def _extra_generate_kwargs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lengths: list[int],
        positions: list[torch.Tensor | None],
    ) -> dict[str, Any]:
        """More ``model.generate`` inputs for a left-padded batch (``[B, L]``); ``lengths``
        and ``positions`` are each sample's ``N_i`` and grid positions (or ``None``)."""
        import torch

        if self.uses_token_type_ids:
            # 0 on image + prefix (bidirectional attention): the prefix-LM of PaliGemma
            return {"token_type_ids": torch.zeros_like(input_ids)}
        return {}

    def _layout(self, config: Any) -> tuple[int, tuple[int, int] | None, int]:
        """``(n_tokens, grid, vision_dim)`` of this architecture."""
        raise NotImplementedError

    def _prompt_ids(self, n_tokens: int, prompt: str) -> list[int]:
        """The input ids of one sample with ``n_tokens`` image placeholders."""
        raise NotImplementedError

    # -------------------------------------------------------------- public API
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def describe(self) -> dict:
        return {
            "name": self.name,
            "adapter": self.adapter,
            "checkpoint": self.checkpoint,
            "weights": self.weights,
            "split": self.split,
            "n_tokens": self.n_tokens,
            "grid": list(self.grid) if self.grid else None,
            "dim": self.dim,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            "prompt": self.prompt,
        }

    def pixel_values(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """The model's preprocessing: ``[B, 3, H, W]`` on the model's device and dtype."""
        return self.preprocess(check_images(images)).to(self.device, self.dtype)

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch

        pixels = self.pixel_values(images)
        captured: dict[str, torch.Tensor] = {}

        def capture(module: Any, args: tuple, output: torch.Tensor) -> None:
            captured["vision"] = args[0]
            captured["projector"] = output

        handle = self._projector.register_forward_hook(capture)
        try:
            with torch.inference_mode():
                self.model.model.get_image_features(pixel_values=pixels)
        finally:
            handle.remove()
        tokens = captured[self.split]
        if tokens.shape[1:] != (self.n_tokens, self.dim):
            raise RuntimeError(
                f"{self.name}: expected tokens [B, {self.n_tokens}, {self.dim}], got "
                f"{tuple(tokens.shape)}"
            )
        return tokens.float().cpu()

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """Apply the multi-modal projector: ``[..., D_vision] -> [..., D_text]`` (float32, CPU)."""
        import torch

        with torch.inference_mode():
            return self._projector(tokens.to(self.device, self.dtype)).float().cpu()

    def _check_tokens(self, tokens: Sequence[torch.Tensor]) -> None:
        check_tokens(tokens, self.dim, self.split)

    def generate(
        self,
        tokens: Sequence[torch.Tensor],
        prompt: str | None = None,
        *,
        max_new_tokens: int = 32,
        num_beams: int = 1,
        positions: Sequence[torch.Tensor | None] | None = None,
    ) -> list[str]:
        import torch

        self._check_tokens(tokens)
        if positions is None:
            positions = [None] * len(tokens)
        elif len(positions) != len(tokens):
            raise ValueError(
                f"positions must hold one entry per token sequence ({len(tokens)}), got "
                f"{len(positions)}"
            )
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {num_beams}")
        prompt = self.prompt if prompt is None else prompt
        device, dtype = self.device, self.dtype

        with torch.inference_mode():
            feats = [t.to(device, dtype) for t in tokens]
            if self.split == "vision":
                feats = [self._apply_projector(f) for f in feats]
            feats = [
                self._decoder_feats(f, pos, i)
                for i, (f, pos) in enumerate(zip(feats, positions, strict=True))
            ]

            if self.prompt_uses_positions:
                rows = [
                    self._prompt_ids_at(f.shape[0], prompt, pos, i)
                    for i, (f, pos) in enumerate(zip(feats, positions, strict=True))
                ]
            else:
                by_length: dict[int, list[int]] = {}  # the prompt ids depend on N_i only
                for n in {f.shape[0] for f in feats}:
                    by_length[n] = self._prompt_ids(n, prompt)
                rows = [by_length[f.shape[0]] for f in feats]
            width = max(len(r) for r in rows)
            input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
            attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
            for i, r in enumerate(rows):  # left padding
                input_ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
                attention_mask[i, width - len(r) :] = 1
            placeholders = (input_ids == self.image_token_id) & attention_mask.bool()
            counts = placeholders.sum(1).tolist()
            expected = [f.shape[0] for f in feats]
            if counts != expected:
                raise ValueError(
                    f"the prompt must not contain the image token itself: found {counts} "
                    f"placeholders for {expected} visual tokens"
                )

            # generate() repeats each row num_beams times (repeat_interleave) before prefill
            state = {
                "mask": placeholders.repeat_interleave(num_beams, 0).to(device),
                "feats": torch.cat([f for f in feats for _ in range(num_beams)]),
                "done": False,
            }
            extra = self._extra_generate_kwargs(
                input_ids, attention_mask, expected, list(positions)
            )
            kwargs: dict[str, Any] = {
                "input_ids": input_ids.to(device),
                "attention_mask": attention_mask.to(device),
                **{k: v.to(device) for k, v in extra.items()},
            }
            handles = [
                self._language_model.register_forward_pre_hook(
                    make_injector(state), with_kwargs=True
                ),
                *last_position_only(self._language_model),
            ]
            try:
                with chunked_mlps(self._language_model, enabled=device.type == "cpu"):
                    out = self.model.generate(
                        **kwargs,
                        max_new_tokens=max_new_tokens,
                        num_beams=num_beams,
                        do_sample=False,
                        pad_token_id=self.pad_token_id,
                    )
            finally:
                for handle in handles:
                    handle.remove()
        if not state["done"]:
            raise RuntimeError(f"{self.name}: the visual tokens were not injected (prefill missed)")
        texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]  # whitespace runs -> one space
