"""Auxiliary dense supervision of the vision tower during training (discarded afterwards).

A linear head on the vision tower's output tokens predicts, for every token, the size,
colour and shape of the object in the token's 2 x 2 scene cell (or "none"). It gives the
from-scratch vision tower a dense learning signal (the caption loss alone reaches it only
through the decoder's attention, which makes early training slow); it plays the role of
PaliGemma's separately pre-trained SigLIP encoder. The shipped model is the plain
``PaliGemmaForConditionalGeneration``: the head is not saved.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AuxHead", "cell_token_labels"]

_N_SIZE, _N_COLOUR, _N_SHAPE = 3, 6, 5  # incl. "none" (the last class)


def cell_token_labels(shapes_batch, grid: int) -> np.ndarray:
    """[B, grid*grid, 3] int64 (size, colour, shape) of the object in each token's cell;
    the last class of each means "no object"."""
    b = shapes_batch.n_objects.shape[0]
    per_cell = np.empty((b, 4, 3), dtype=np.int64)
    per_cell[..., 0], per_cell[..., 1], per_cell[..., 2] = _N_SIZE - 1, _N_COLOUR - 1, _N_SHAPE - 1
    rows = np.arange(b)
    for j in range(shapes_batch.cells.shape[1]):
        sel = shapes_batch.cells[:, j] >= 0
        c = shapes_batch.cells[sel, j]
        per_cell[rows[sel], c, 0] = shapes_batch.size[sel, j]
        per_cell[rows[sel], c, 1] = shapes_batch.colour[sel, j]
        per_cell[rows[sel], c, 2] = shapes_batch.shape[sel, j]
    r, k = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    cell_of_token = ((r * 2) // grid * 2 + (k * 2) // grid).ravel()  # [grid*grid]
    return per_cell[:, cell_of_token]


class AuxHead:
    """Captures the vision tower's output (forward hook) and scores it with a linear head."""

    def __init__(self, model, *, seed: int = 0) -> None:
        import torch

        hidden = model.config.vision_config.hidden_size
        g = torch.Generator().manual_seed(seed)
        self.linear = torch.nn.Linear(hidden, _N_SIZE + _N_COLOUR + _N_SHAPE)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(self.linear.weight.shape, generator=g) * 0.02)
            self.linear.bias.zero_()
        self.linear.to(next(model.parameters()).device)
        self._out = None
        self._handle = model.model.vision_tower.register_forward_hook(self._grab)

    def _grab(self, _mod, _inp, output) -> None:
        self._out = output.last_hidden_state

    def parameters(self):
        return self.linear.parameters()

    def loss(self, labels):
        """Mean cross-entropy of the three attributes over all tokens; labels [B, N, 3]."""
        import torch.nn.functional as F

        logits = self.linear(self._out)  # [B, N, 14]
        s, c = _N_SIZE, _N_SIZE + _N_COLOUR
        lab = labels.to(logits.device)
        return (
            F.cross_entropy(logits[..., :s].flatten(0, 1), lab[..., 0].flatten())
            + F.cross_entropy(logits[..., s:c].flatten(0, 1), lab[..., 1].flatten())
            + F.cross_entropy(logits[..., c:].flatten(0, 1), lab[..., 2].flatten())
        ) / 3

    def remove(self) -> None:
        self._handle.remove()
