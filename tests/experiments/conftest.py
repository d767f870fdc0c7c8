"""A tiny deterministic VLM implementing the ``collab_infer.models`` interface, and a
small captioned image set, so the sweep runner is testable without any checkpoint.

Edge: the image is resized to 4 x 4; token ``(r, c)`` is its RGB colour plus
(noise-free) position features, D = 8. Server: each of the four 2 x 2 quadrants of the
(re)built token grid is named by the colour nearest to its mean, so damaging or
reducing tokens really changes the caption. Different N' are allowed (tokens are
resampled to 16 by nearest index).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from collab_infer.datasets.sample import Sample

PALETTE = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "yellow": (230, 220, 30),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
}


class FakeVLM:
    name = "fake"
    split = "projector"
    n_tokens = 16
    grid = (4, 4)
    dim = 8
    prompt = "caption en"

    def __init__(self) -> None:
        self.encode_calls = 0
        self.generate_calls = 0
        self.generated = 0

    def encode(self, images):
        self.encode_calls += 1
        out = []
        ys, xs = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
        pos = np.stack([ys.ravel(), xs.ravel()], 1) / 3.0
        for im in images:
            a = np.asarray(im.convert("RGB").resize((4, 4), Image.BILINEAR), dtype=np.float32)
            rgb = a.reshape(16, 3) / 255.0
            feats = np.concatenate(
                [rgb, pos, rgb.mean(1, keepdims=True), pos.sum(1, keepdims=True), np.ones((16, 1))],
                1,
            )
            out.append(torch.from_numpy(feats.astype(np.float32)))
        return torch.stack(out)

    def generate(self, tokens, prompt=None, *, max_new_tokens=32, num_beams=1):
        self.generate_calls += 1
        self.generated += len(tokens)
        names = list(PALETTE)
        cols = np.array([PALETTE[n] for n in names], dtype=np.float32) / 255.0
        caps = []
        for t in tokens:
            t = t.float().numpy()
            idx = np.linspace(0, len(t) - 1, 16).round().astype(int)
            g = t[idx, :3].reshape(4, 4, 3)
            words = []
            for qy in (0, 2):
                for qx in (0, 2):
                    m = g[qy : qy + 2, qx : qx + 2].reshape(-1, 3).mean(0)
                    words.append(names[int(np.argmin(((cols - m) ** 2).sum(1)))])
            caps.append(" ".join(["a"] + words[: max(1, max_new_tokens)] + ["picture"]))
        return caps

    def describe(self):
        return {"name": self.name, "n_tokens": self.n_tokens, "dim": self.dim}


def make_samples(n: int = 4, seed: int = 0) -> list[Sample]:
    """``n`` 32 x 32 images of four coloured quadrants with their exact caption."""
    rng = np.random.default_rng(seed)
    names = ["red", "green", "blue", "yellow"]
    out = []
    for i in range(n):
        words = [names[j] for j in rng.integers(0, 4, size=4)]
        a = np.zeros((32, 32, 3), dtype=np.uint8)
        for q, w in enumerate(words):
            y, x = divmod(q, 2)
            a[y * 16 : (y + 1) * 16, x * 16 : (x + 1) * 16] = PALETTE[w]
        refs = ["a " + " ".join(words) + " picture", "a picture of " + " and ".join(words)]
        out.append(Sample(id=f"img{i}", image=Image.fromarray(a), references=refs))
    return out


import pytest  # noqa: E402


@pytest.fixture
def fake_vlm():
    return FakeVLM()


@pytest.fixture
def fake_samples():
    return make_samples(4)


@pytest.fixture
def sample_maker():
    return make_samples
