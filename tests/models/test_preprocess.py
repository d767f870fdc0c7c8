"""Image preprocessing formats."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from collab_infer.models.hub import CheckpointError
from collab_infer.models.preprocess import ImagePreprocessor, load_preprocessor


class TestImagePreprocessor:
    def test_resize_rescale_normalise(self):
        im = Image.fromarray(np.full((10, 20, 3), [255, 0, 51], np.uint8))
        pre = ImagePreprocessor(
            image_size=(4, 6), image_mean=(0.5, 0.5, 0.5), image_std=(0.5, 0.25, 0.5)
        )
        x = pre([im, im.convert("L").convert("RGB")])
        assert x.shape == (2, 3, 4, 6) and x.dtype == torch.float32
        torch.testing.assert_close(x[0, :, 0, 0], torch.tensor([1.0, -2.0, 0.2 * 2 - 1]))

    def test_from_dict(self):
        pre = ImagePreprocessor.from_dict({"image_size": 8})
        assert pre.image_size == (8, 8) and pre.image_mean == (0.5, 0.5, 0.5)
        assert ImagePreprocessor.from_dict({"image_size": [4, 6]}).image_size == (4, 6)

    @pytest.mark.parametrize(
        "kw, match",
        [
            ({"image_size": (0, 4)}, "image_size"),
            ({"image_size": (4, 4), "image_mean": (0.5,)}, "image_mean"),
            ({"image_size": (4, 4), "image_std": (0.5, 0.0, 0.5)}, "image_std"),
        ],
    )
    def test_invalid(self, kw, match):
        with pytest.raises(ValueError, match=match):
            ImagePreprocessor(**kw)


class TestLoadPreprocessor:
    def test_missing_file(self, tmp_path):
        with pytest.raises(CheckpointError, match="preprocessor_config.json is missing"):
            load_preprocessor(tmp_path)

    def test_unknown_format(self, tmp_path):
        (tmp_path / "preprocessor_config.json").write_text(json.dumps({"size": 3}))
        with pytest.raises(CheckpointError, match="names neither"):
            load_preprocessor(tmp_path)

    def test_invalid_json(self, tmp_path):
        (tmp_path / "preprocessor_config.json").write_text("{")
        with pytest.raises(CheckpointError, match="cannot read"):
            load_preprocessor(tmp_path)

    def test_minimal_format(self, tmp_path):
        cfg = {"image_size": 16, "image_mean": [0, 0, 0], "image_std": [1, 1, 1]}
        (tmp_path / "preprocessor_config.json").write_text(json.dumps(cfg))
        x = load_preprocessor(tmp_path)([Image.new("RGB", (5, 7), (255, 255, 255))])
        torch.testing.assert_close(x, torch.ones(1, 3, 16, 16))
