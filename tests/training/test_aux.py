"""The auxiliary per-cell attribute labels and head of the vision tower."""

import numpy as np
import torch

from collab_infer.datasets.shapes import render
from collab_infer.training.aux import AuxHead, cell_token_labels
from collab_infer.training.model_config import build_model


def test_cell_token_labels_follow_the_scene():
    b = render("train", np.arange(20))
    lab = cell_token_labels(b, 8)  # [B, 64, 3]
    assert lab.shape == (20, 64, 3)
    grid = lab.reshape(20, 8, 8, 3)
    for i in range(20):
        for j in range(int(b.n_objects[i])):
            c = b.cells[i, j]
            block = grid[i, (c // 2) * 4 : (c // 2) * 4 + 4, (c % 2) * 4 : (c % 2) * 4 + 4]
            want = [b.size[i, j], b.colour[i, j], b.shape[i, j]]
            assert (block.reshape(-1, 3) == want).all()
        empty = set(range(4)) - set(b.cells[i, : b.n_objects[i]].tolist())
        for c in empty:
            block = grid[i, (c // 2) * 4 : (c // 2) * 4 + 4, (c % 2) * 4 : (c % 2) * 4 + 4]
            assert (block.reshape(-1, 3) == [2, 5, 4]).all()  # "none" classes


def test_aux_head_hooks_the_vision_tower_and_is_removable(tiny_arch):
    m = build_model(tiny_arch)
    head = AuxHead(m, seed=0)
    b = render("train", np.arange(3), size=32)
    pix = torch.from_numpy(b.images).permute(0, 3, 1, 2).float() / 127.5 - 1
    m.model.get_image_features(pixel_values=pix)
    loss = head.loss(torch.from_numpy(cell_token_labels(b, 4)))
    # about the mean log-class-count at initialisation
    assert loss.ndim == 0 and 0.5 < float(loss.detach()) < 3.0
    loss.backward()
    assert all(p.grad is not None for p in m.model.vision_tower.parameters())
    head.remove()
    assert not m.model.vision_tower._forward_hooks
