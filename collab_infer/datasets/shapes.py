"""``shapes``: a procedural, deterministic captioning dataset (the default model's data).

Every image is a pure function of ``(seed, split, index)``: a counter-based hash
(splitmix64) turns the triple into the scene's random numbers, so any index renders
alone, in any order, with no per-sample Python (all images of a batch are drawn at once
with numpy).

Scene: a ``size x size`` RGB image (default 64) split into a 2 x 2 grid of cells;
1-3 objects sit in distinct cells (jittered inside the cell), each with a size
(small / large), a colour (red, green, blue, yellow, purple) and a shape (circle,
square, triangle, cross). The background is a tinted grey with a random gradient, a
random sinusoidal texture and pixel noise (noise also lies over the objects).

Caption (one canonical reference): objects in reading order (cell order top-left,
top-right, bottom-left, bottom-right), each as ``a <size> <colour> <shape>``, with the
spatial relation of each object to the next one between them: ``left of`` (same row),
``above`` (same column), ``above left of`` / ``above right of`` (diagonal). Example:
``a small red circle above right of a large blue square``.

Splits: ``train``, ``val``, ``test`` (in-distribution) and ``test_heldout``. Four
colour-shape pairs (:data:`HELDOUT_PAIRS`) never occur in train/val/test; in
``test_heldout`` every object has one of them, which measures generalisation to unseen
attribute combinations. Each split hashes with its own stream id, so splits never share
an image.

>>> ds = ShapesDataset(split="test", n=4, seed=0)
>>> s = ds[0]
>>> s.image.size, s.references[0].startswith("a ")
((64, 64), True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from collab_infer.datasets.sample import Sample

__all__ = [
    "COLOURS",
    "HELDOUT_PAIRS",
    "RELATIONS",
    "SHAPES",
    "SIZES",
    "SPLITS",
    "WORDS",
    "ShapesBatch",
    "ShapesDataset",
    "render",
]

SIZES = ("small", "large")
COLOURS = ("red", "green", "blue", "yellow", "purple")
SHAPES = ("circle", "square", "triangle", "cross")
#: relation of object i to object i+1 (reading order over the 2 x 2 cells)
RELATIONS = ("left of", "above", "above left of", "above right of")
#: (colour, shape) pairs absent from train / val / test; the only pairs in test_heldout
HELDOUT_PAIRS = (("red", "cross"), ("green", "triangle"), ("blue", "circle"), ("yellow", "square"))
SPLITS = ("train", "val", "test", "test_heldout")
#: every word a caption can contain (the caption vocabulary)
WORDS = ("a", *SIZES, *COLOURS, *SHAPES, "left", "above", "right", "of")

_SPLIT_STREAM = {"train": 0x7A11, "val": 0x5A1, "test": 0x7E57, "test_heldout": 0x4E1D}
_MAX_OBJECTS = 3
_N_CELLS = 4
_RGB = np.array(
    [[215, 45, 40], [40, 170, 60], [45, 85, 225], [230, 205, 40], [150, 60, 195]], dtype=np.float32
)
_NOISE_FIELD = 256
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _pairs(heldout: bool) -> np.ndarray:
    """[P, 2] int64 (colour id, shape id) pairs allowed in a split."""
    held = {(COLOURS.index(c), SHAPES.index(s)) for c, s in HELDOUT_PAIRS}
    allp = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES))]
    return np.array([p for p in allp if (p in held) == heldout], dtype=np.int64)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniforms(seed: int, split: str, indices: np.ndarray, n_streams: int) -> np.ndarray:
    """[B, n_streams] float64 uniforms in [0, 1), a pure function of (seed, split, index)."""
    base = _splitmix(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    base = _splitmix(base ^ np.uint64(_SPLIT_STREAM[split]))
    keys = _splitmix(base ^ indices.astype(np.uint64))  # [B]
    with np.errstate(over="ignore"):
        streams = np.arange(1, n_streams + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03)
        z = _splitmix(keys[:, None] ^ streams[None, :])
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@functools.lru_cache(maxsize=1)
def _noise_field() -> np.ndarray:
    """A fixed [256, 256, 3] float32 standard-normal field; images crop it at hashed offsets."""
    rng = np.random.default_rng(20240531)
    return rng.standard_normal((_NOISE_FIELD, _NOISE_FIELD, 3)).astype(np.float32)


@dataclass(frozen=True)
class ShapesBatch:
    """A rendered batch and its scene description.

    :param images: [B, H, W, 3] uint8.
    :param n_objects: [B] int64 in 1..3.
    :param cells: [B, 3] int64 cell (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)
        of each object in caption order; -1 for absent objects.
    :param size: [B, 3] int64 index into :data:`SIZES` (-1 absent).
    :param colour: [B, 3] int64 index into :data:`COLOURS` (-1 absent).
    :param shape: [B, 3] int64 index into :data:`SHAPES` (-1 absent).
    :param relation: [B, 2] int64 index into :data:`RELATIONS` between objects i and i+1
        (-1 absent).
    """

    images: np.ndarray
    n_objects: np.ndarray
    cells: np.ndarray
    size: np.ndarray
    colour: np.ndarray
    shape: np.ndarray
    relation: np.ndarray

    def word_ids(self) -> np.ndarray:
        """[B, L] int64 caption word ids (indices into :data:`WORDS`), right-padded with -1.

        L = the longest caption in the batch (at most 18 words). Vectorised: no per-image Python.
        """
        b = self.n_objects.shape[0]
        w = {word: i for i, word in enumerate(WORDS)}
        rel_words = np.full((len(RELATIONS) + 1, 3), -1, dtype=np.int64)
        for r, phrase in enumerate(RELATIONS):
            ids = [w[t] for t in phrase.split()]
            rel_words[r, : len(ids)] = ids
        slots = []
        for j in range(_MAX_OBJECTS):
            present = j < self.n_objects
            obj = np.stack(
                [
                    np.full(b, w["a"]),
                    w["small"] + self.size[:, j],
                    w["red"] + self.colour[:, j],
                    w["circle"] + self.shape[:, j],
                ],
                axis=1,
            )
            slots.append(np.where(present[:, None], obj, -1))
            if j < _MAX_OBJECTS - 1:
                slots.append(rel_words[self.relation[:, j]])  # -1 row for absent relation
        table = np.concatenate(slots, axis=1)  # [B, 18] with -1 holes
        order = np.argsort(table < 0, axis=1, kind="stable")
        packed = np.take_along_axis(table, order, axis=1)
        length = int((packed >= 0).sum(axis=1).max())
        return packed[:, :length]

    def captions(self) -> list[str]:
        """The canonical caption of every image."""
        return [" ".join(WORDS[i] for i in row if i >= 0) for row in self.word_ids()]


def _relation(c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """Relation id of an object in cell c0 to one in a later cell c1 (reading order)."""
    r0, k0, r1, k1 = c0 // 2, c0 % 2, c1 // 2, c1 % 2
    rel = np.where(r0 == r1, 0, np.where(k0 == k1, 1, np.where(k0 < k1, 2, 3)))
    return np.where((c0 < 0) | (c1 < 0), -1, rel)


def render(split: str, indices: Sequence[int] | np.ndarray, *, seed: int = 0, size: int = 64):
    """Render images ``indices`` of ``split`` at once.

    :param split: one of :data:`SPLITS`.
    :param indices: [B] non-negative ints.
    :param seed: dataset seed (a different seed gives a different dataset).
    :param size: image side in pixels (>= 32; geometry scales with it).
    :returns: :class:`ShapesBatch` (``images`` [B, size, size, 3] uint8).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if size < 32:
        raise ValueError(f"size must be >= 32 pixels, got {size}")
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise ValueError("indices must be non-negative")
    b = idx.shape[0]
    u = _uniforms(seed, split, idx, 48).astype(np.float32)
    col = iter(range(48))

    def nxt() -> np.ndarray:
        return u[:, next(col)]

    # --- scene layout -----------------------------------------------------------------
    n_obj = 1 + np.minimum((nxt() * 3).astype(np.int64), 2)
    cell_keys = np.stack([nxt() for _ in range(_N_CELLS)], axis=1)
    perm = np.argsort(cell_keys, axis=1)[:, :_MAX_OBJECTS]  # distinct random cells
    present = np.arange(_MAX_OBJECTS)[None, :] < n_obj[:, None]
    cells = np.where(present, perm, _N_CELLS + 1)
    cells = np.sort(cells, axis=1)  # reading order; absent ones last
    cells = np.where(cells > _N_CELLS, -1, cells)
    pairs = _pairs(heldout=split == "test_heldout")
    pair = np.minimum(
        (np.stack([nxt() for _ in range(3)], 1) * len(pairs)).astype(np.int64), len(pairs) - 1
    )
    colour = np.where(present, pairs[pair, 0], -1)
    shape = np.where(present, pairs[pair, 1], -1)
    sz = np.where(present, (np.stack([nxt() for _ in range(3)], 1) < 0.5).astype(np.int64), -1)
    relation = np.stack(
        [_relation(cells[:, 0], cells[:, 1]), _relation(cells[:, 1], cells[:, 2])], 1
    )

    # --- background ---------------------------------------------------------------------
    s = float(size)
    yy, xx = np.meshgrid(
        np.arange(size, dtype=np.float32) + 0.5,
        np.arange(size, dtype=np.float32) + 0.5,
        indexing="ij",
    )
    grey = 60 + 100 * nxt()
    tint = (np.stack([nxt() for _ in range(3)], 1) - 0.5) * 30
    base = (grey[:, None] + tint).astype(np.float32)  # [B, 3]
    ang = nxt() * 2 * np.pi
    grad_amp = 25 * nxt()
    gx, gy = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    grad = ((xx[None] / s - 0.5) * gx[:, None, None] + (yy[None] / s - 0.5) * gy[:, None, None]) * (
        2 * grad_amp[:, None, None]
    )
    t_ang = nxt() * np.pi
    t_freq = (2 + 6 * nxt()) * 2 * np.pi / s
    t_amp = 12 * nxt()
    phase = nxt() * 2 * np.pi
    tex = (
        np.sin(
            (xx[None] * np.cos(t_ang)[:, None, None] + yy[None] * np.sin(t_ang)[:, None, None])
            * t_freq[:, None, None]
            + phase[:, None, None]
        )
        * t_amp[:, None, None]
    )
    img = base[:, None, None, :] + (grad + tex).astype(np.float32)[..., None]  # [B, H, W, 3]

    # --- objects (one pass over the 4 cells: each cell holds at most one object) ---------
    half = size // 2
    cell_px = float(half)
    c_present = np.zeros((b, _N_CELLS), dtype=bool)
    c_shape = np.zeros((b, _N_CELLS), dtype=np.int64)
    c_r = np.ones((b, _N_CELLS), dtype=np.float32)
    c_x = np.zeros((b, _N_CELLS), dtype=np.float32)
    c_y = np.zeros((b, _N_CELLS), dtype=np.float32)
    c_rgb = np.zeros((b, _N_CELLS, 3), dtype=np.float32)
    rows_b = np.arange(b)
    for j in range(_MAX_OBJECTS):
        r = np.where(
            sz[:, j] == 1, (0.28 + 0.07 * nxt()) * cell_px, (0.16 + 0.04 * nxt()) * cell_px
        )
        slack = np.maximum(cell_px / 2 - r - 1.5, 0)
        ox_, oy_ = (2 * nxt() - 1) * slack, (2 * nxt() - 1) * slack
        jitter = (np.stack([nxt() for _ in range(3)], 1) - 0.5) * 40
        sel = present[:, j]
        rb, cj = rows_b[sel], cells[sel, j]
        c_present[rb, cj] = True
        c_shape[rb, cj] = shape[sel, j]
        c_r[rb, cj] = r[sel]
        c_x[rb, cj] = cell_px / 2 + ox_[sel]
        c_y[rb, cj] = cell_px / 2 + oy_[sel]
        c_rgb[rb, cj] = _RGB[colour[sel, j]] + jitter[sel]
    ly = (np.arange(half, dtype=np.float32) + 0.5)[None, None, :, None]
    lx = (np.arange(half, dtype=np.float32) + 0.5)[None, None, None, :]
    dx = lx - c_x[:, :, None, None]  # [B, 4, h, w]
    dy = ly - c_y[:, :, None, None]
    rr = c_r[:, :, None, None]
    adx, ady = np.abs(dx), np.abs(dy)
    shp = c_shape[:, :, None, None]
    mask = (
        np.where(
            shp == 0,
            dx * dx + dy * dy <= rr * rr,  # circle
            np.where(
                shp == 1,
                np.maximum(adx, ady) <= 0.85 * rr,  # square
                np.where(
                    shp == 2,
                    (dy <= 0.8 * rr) & (adx * 1.8 <= dy + rr),  # triangle (apex up)
                    ((adx <= rr) & (ady <= 0.33 * rr))
                    | ((ady <= rr) & (adx <= 0.33 * rr)),  # cross
                ),
            ),
        )
        & c_present[:, :, None, None]
    )
    # cells [B, 4, h, w] -> image layout [B, 2h, 2w]
    mask_img = (
        mask.reshape(b, 2, 2, half, half).transpose(0, 1, 3, 2, 4).reshape(b, 2 * half, 2 * half)
    )
    rgb_img = np.broadcast_to(c_rgb.reshape(b, 2, 1, 2, 1, 3), (b, 2, half, 2, half, 3)).reshape(
        b, 2 * half, 2 * half, 3
    )
    if 2 * half != size:  # odd size: the last row/column stays background
        pad = size - 2 * half
        mask_img = np.pad(mask_img, ((0, 0), (0, pad), (0, pad)))
        rgb_img = np.pad(rgb_img, ((0, 0), (0, pad), (0, pad), (0, 0)))
    img = np.where(mask_img[..., None], rgb_img, img)

    # --- pixel noise (over everything) ----------------------------------------------------
    field = _noise_field()
    span = _NOISE_FIELD - size
    oy = (nxt() * (span + 1)).astype(np.int64)
    ox = (nxt() * (span + 1)).astype(np.int64)
    sigma = (4 + 10 * nxt()).astype(np.float32)
    rows = (oy[:, None] + np.arange(size))[:, :, None]
    colsi = (ox[:, None] + np.arange(size))[:, None, :]
    img = img + field[rows, colsi] * sigma[:, None, None, None]
    images = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return ShapesBatch(images, n_obj, cells, sz, colour, shape, relation)


class ShapesDataset(Sequence[Sample]):
    """``n`` images of one split as a sequence of :class:`Sample` (PIL images, one reference).

    :param split: one of :data:`SPLITS`.
    :param n: number of images (indices ``0..n-1``); default 500.
    :param seed: dataset seed.
    :param image_size: image side in pixels (default 64).
    """

    def __init__(
        self, split: str = "test", n: int | None = None, seed: int = 0, image_size: int = 64
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        n = 500 if n is None else int(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.split, self.n, self.seed, self.image_size = split, n, int(seed), int(image_size)
        self._cache: dict[int, tuple[np.ndarray, list[str]]] = {}

    def __len__(self) -> int:
        return self.n

    def _chunk(self, c: int, chunk: int = 256) -> tuple[np.ndarray, list[str]]:
        if c not in self._cache:
            idx = np.arange(c * chunk, min((c + 1) * chunk, self.n))
            batch = render(self.split, idx, seed=self.seed, size=self.image_size)
            self._cache[c] = (batch.images, batch.captions())
        return self._cache[c]

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} images")
        from PIL import Image

        images, caps = self._chunk(i // 256)
        return Sample(
            id=f"shapes-{self.split}-{self.seed}-{i}",
            image=Image.fromarray(images[i % 256]),
            references=[caps[i % 256]],
        )
