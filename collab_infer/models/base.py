"""The narrow interface every vision-language model adapter implements.

The edge calls :meth:`VLM.encode` (vision tower, optionally the projector) and the
server calls :meth:`VLM.generate` on whatever token sequences it rebuilt, one per image,
each with its own length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["VLM", "Split", "SPLITS"]

Split = Literal["projector", "vision"]
SPLITS: tuple[str, ...] = ("projector", "vision")


class VLM(ABC):
    """A captioning VLM split into an edge half (``encode``) and a server half (``generate``).

    Attributes:
        name: the adapter name plus checkpoint (``"paligemma:google/paligemma-3b-pt-224"``).
        split: where the model is cut: ``"projector"`` (tokens after the multi-modal
            projector, in the language model's width) or ``"vision"`` (the vision tower's
            output before the projector; the server applies the projector).
        n_tokens: N, visual tokens per image.
        grid: ``(h, w)`` of the tokens on the image (``h * w == n_tokens``), or ``None``
            when the tokens do not form a grid.
        dim: D, the width of the tokens at ``split``.
        prompt: the default prompt (``"caption en"`` for PaliGemma).
    """

    name: str
    split: str
    n_tokens: int
    grid: tuple[int, int] | None
    dim: int
    prompt: str

    @abstractmethod
    def encode(self, images: list[Image.Image]) -> torch.Tensor:
        """Visual tokens at :attr:`split`.

        :input images: ``B`` PIL images (any size and mode; preprocessed by the model's
            own image processor).
        :output: ``[B, N, D]`` float32 tensor on the CPU.
        """

    @abstractmethod
    def generate(
        self,
        tokens: list[torch.Tensor],
        prompt: str | None = None,
        *,
        max_new_tokens: int = 32,
        num_beams: int = 1,
        positions: list[torch.Tensor | None] | None = None,
    ) -> list[str]:
        """Captions from (possibly reduced or damaged) visual tokens, batched.

        :input tokens: ``B`` tensors ``[N_i, D]`` at :attr:`split`; ``N_i`` may differ per
            sample (``1 <= N_i``).
        :input positions: per sample ``None`` or ``[N_i]`` int64, each token's index on the
            encoder's ``N``-token grid (a dropped subset's kept positions). Families with
            2-D positions (Qwen2.5-VL's M-RoPE) give each token the position ids it had in
            the full sequence; ``None`` with ``N_i == N`` means positions ``0..N-1``.
            Families with 1-D positions lay the ``N_i`` tokens out contiguously (the
            paper's dropped subset) and ignore it.
        :param prompt: the text prompt (default :attr:`prompt`).
        :param max_new_tokens: the most tokens generated per caption.
        :param num_beams: 1 for greedy decoding, more for beam search.
        :output: ``B`` captions (special tokens removed, whitespace runs collapsed to one
            space).
        """

    @abstractmethod
    def describe(self) -> dict:
        """Name, checkpoint, split, N, grid, D, dtype, device, prompt (for result rows)."""
