"""The procedural ``shapes`` dataset: determinism, splits, held-out pairs, captions."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from collab_infer.datasets.sample import Sample
from collab_infer.datasets.shapes import (
    COLOURS,
    HELDOUT_PAIRS,
    RELATIONS,
    SHAPES,
    SIZES,
    SPLITS,
    WORDS,
    ShapesDataset,
    render,
)

_RGB = {
    "red": (215, 45, 40),
    "green": (40, 170, 60),
    "blue": (45, 85, 225),
    "yellow": (230, 205, 40),
    "purple": (150, 60, 195),
}


_AREA_FACTOR = {0: np.pi, 1: 1.7**2, 2: 1.8, 3: 2.2}  # circle, square, triangle, cross


def _digests(images: np.ndarray) -> set[str]:
    return {hashlib.sha1(im.tobytes()).hexdigest() for im in images}


class TestRender:
    def test_deterministic_and_order_independent(self):
        a = render("train", np.arange(40), seed=3)
        b = render("train", np.arange(40), seed=3)
        np.testing.assert_array_equal(a.images, b.images)
        assert a.captions() == b.captions()
        c = render("train", [17, 5], seed=3)  # any index renders alone, same pixels
        np.testing.assert_array_equal(c.images, a.images[[17, 5]])
        assert c.captions() == [a.captions()[17], a.captions()[5]]

    def test_seed_changes_dataset(self):
        a = render("test", np.arange(8), seed=0)
        b = render("test", np.arange(8), seed=1)
        assert not np.array_equal(a.images, b.images)

    def test_shapes_and_dtype(self):
        b = render("val", np.arange(5), size=48)
        assert b.images.shape == (5, 48, 48, 3) and b.images.dtype == np.uint8
        assert b.n_objects.min() >= 1 and b.n_objects.max() <= 3

    def test_splits_never_share_images(self):
        seen = [_digests(render(s, np.arange(300)).images) for s in SPLITS]
        for i in range(len(SPLITS)):
            assert len(seen[i]) == 300  # no duplicates inside a split either
            for j in range(i + 1, len(SPLITS)):
                assert not seen[i] & seen[j], (SPLITS[i], SPLITS[j])

    @pytest.mark.parametrize("split", ["train", "val", "test"])
    def test_heldout_pairs_absent_in_distribution(self, split):
        b = render(split, np.arange(2000))
        pairs = {
            (COLOURS[c], SHAPES[s])
            for c, s in zip(b.colour.ravel(), b.shape.ravel(), strict=True)
            if c >= 0
        }
        assert not pairs & set(HELDOUT_PAIRS)
        assert len(pairs) == len(COLOURS) * len(SHAPES) - len(HELDOUT_PAIRS)

    def test_heldout_split_uses_only_heldout_pairs(self):
        b = render("test_heldout", np.arange(500))
        pairs = {
            (COLOURS[c], SHAPES[s])
            for c, s in zip(b.colour.ravel(), b.shape.ravel(), strict=True)
            if c >= 0
        }
        assert pairs == set(HELDOUT_PAIRS)

    def test_attribute_statistics(self):
        b = render("train", np.arange(3000))
        counts = np.bincount(b.n_objects, minlength=4)[1:]
        assert counts.min() > 800  # 1, 2, 3 objects about equally often
        present = b.size >= 0
        assert 0.45 < b.size[present].mean() < 0.55
        assert set(np.unique(b.relation[b.relation >= 0])) == set(range(len(RELATIONS)))

    @pytest.mark.parametrize(
        ("kw", "match"),
        [
            ({"split": "training"}, "split must be one of"),
            ({"split": "test", "size": 16}, "size must be >= 32"),
            ({"split": "test", "indices": [-1]}, "non-negative"),
        ],
    )
    def test_bad_arguments(self, kw, match):
        kw.setdefault("indices", [0])
        with pytest.raises(ValueError, match=match):
            render(kw.pop("split"), kw.pop("indices"), **kw)


class TestCaptions:
    def test_captions_describe_the_attributes(self):
        b = render("test", np.arange(300))
        for i, cap in enumerate(b.captions()):
            n = int(b.n_objects[i])
            expected = []
            for j in range(n):
                expected += [
                    "a",
                    SIZES[b.size[i, j]],
                    COLOURS[b.colour[i, j]],
                    SHAPES[b.shape[i, j]],
                ]
                if j < n - 1:
                    expected += RELATIONS[b.relation[i, j]].split()
            assert cap.split() == expected
            assert set(cap.split()) <= set(WORDS)

    def test_relations_match_cells(self):
        b = render("test", np.arange(500))
        for i in range(500):
            for j in range(int(b.n_objects[i]) - 1):
                c0, c1 = b.cells[i, j], b.cells[i, j + 1]
                assert c0 < c1  # reading order
                rel = RELATIONS[b.relation[i, j]]
                if c0 // 2 == c1 // 2:
                    assert rel == "left of"
                elif c0 % 2 == c1 % 2:
                    assert rel == "above"
                else:
                    assert rel == ("above left of" if c0 % 2 < c1 % 2 else "above right of")

    def test_pixels_show_the_named_colour_in_the_named_cell(self):
        b = render("test", np.arange(200), seed=5)
        half = 32
        palette = np.array(list(_RGB.values()), dtype=np.float32)
        for i in range(200):
            cells = (
                b.images[i].reshape(2, half, 2, half, 3).transpose(0, 2, 1, 3, 4).reshape(4, -1, 3)
            )
            dist = np.linalg.norm(cells[:, :, None, :].astype(np.float32) - palette, axis=-1)
            near = dist.min(-1) < 45  # object pixels (noise and jitter allowed)
            nearest = dist.argmin(-1)
            occupied = set(b.cells[i, : b.n_objects[i]].tolist())
            for c in range(4):
                if c not in occupied:
                    assert near[c].sum() < 10
            for j in range(int(b.n_objects[i])):
                c = b.cells[i, j]
                votes = np.bincount(nearest[c][near[c]], minlength=5)
                assert votes.argmax() == b.colour[i, j]
                # object area / radius^2 per shape; small radii <= 6.4 px, large >= 9 px
                area = near[c].sum() / _AREA_FACTOR[b.shape[i, j]]
                assert (area > 7.7**2) if b.size[i, j] == 1 else (4**2 < area < 7.7**2)

    def test_word_ids_match_captions(self):
        b = render("val", np.arange(50))
        ids = b.word_ids()
        assert ids.shape[1] == max(len(c.split()) for c in b.captions())
        for row, cap in zip(ids, b.captions(), strict=True):
            assert [WORDS[k] for k in row if k >= 0] == cap.split()


class TestShapesDataset:
    def test_sequence_of_samples(self):
        ds = ShapesDataset(split="test", n=300, seed=0)
        assert len(ds) == 300
        s = ds[257]
        assert isinstance(s, Sample) and isinstance(s.image, Image.Image)
        assert s.image.size == (64, 64) and s.image.mode == "RGB"
        assert s.id == "shapes-test-0-257"
        b = render("test", [257])
        np.testing.assert_array_equal(np.asarray(s.image), b.images[0])
        assert s.references == b.captions()
        assert ds[-1].id == "shapes-test-0-299"
        assert [x.id for x in ds[2:4]] == ["shapes-test-0-2", "shapes-test-0-3"]

    def test_default_size_and_errors(self):
        assert len(ShapesDataset()) == 500
        with pytest.raises(IndexError, match="out of range"):
            ShapesDataset(n=3)[3]
        with pytest.raises(ValueError, match="n must be >= 1"):
            ShapesDataset(n=0)
        with pytest.raises(ValueError, match="split must be one of"):
            ShapesDataset(split="dev")
