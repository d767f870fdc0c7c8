"""The ``coco`` dataset (Karpathy split JSON + image root) on a miniature copy."""

import json

import numpy as np
import pytest
from PIL import Image

from collab_infer.datasets import load
from collab_infer.datasets.coco import CocoKarpathy
from collab_infer.errors import CollabInferError

SPLITS = ["train", "restval", "val", "test", "test", "test"]


@pytest.fixture
def coco(tmp_path):
    images = []
    rng = np.random.default_rng(0)
    for i, split in enumerate(SPLITS):
        folder = "train2014" if split in ("train", "restval") else "val2014"
        name = f"COCO_{folder}_{i:012d}.jpg"
        (tmp_path / folder).mkdir(exist_ok=True)
        Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).save(
            tmp_path / folder / name
        )
        images.append(
            {
                "filepath": folder,
                "filename": name,
                "cocoid": 1000 + i,
                "split": split,
                "sentences": [{"raw": f"caption {i} a "}, {"raw": f"caption {i} b"}],
            }
        )
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    return tmp_path


class TestCoco:
    def test_test_split(self, coco):
        ds = CocoKarpathy(root=coco)
        assert len(ds) == 3
        s = ds[0]
        assert s.id == "1003" and s.references == ["caption 3 a", "caption 3 b"]
        assert s.image.size == (6, 6)

    def test_train_includes_restval(self, coco):
        assert [s.id for s in CocoKarpathy(root=coco, split="train")] == ["1000", "1001"]
        assert len(CocoKarpathy(root=coco, split="restval")) == 1

    def test_separate_paths(self, coco):
        ds = CocoKarpathy(annotations=coco / "dataset_coco.json", image_root=coco, split="val")
        assert [s.id for s in ds] == ["1002"]

    def test_load_subsample(self, coco):
        a = load("coco", root=coco, split="test", n=2, seed=0)
        assert len(a) == 2 and [s.id for s in a] == [s.id for s in load("coco", root=coco, n=2)]

    def test_missing_image_is_named(self, coco):
        (coco / "val2014" / "COCO_val2014_000000000003.jpg").unlink()
        with pytest.raises(CollabInferError, match="COCO_val2014_000000000003.jpg does not exist"):
            CocoKarpathy(root=coco)[0]

    def test_errors(self, coco, tmp_path):
        with pytest.raises(CollabInferError, match="coco needs annotations="):
            CocoKarpathy()
        with pytest.raises(CollabInferError, match="annotation file .* does not exist"):
            CocoKarpathy(root=tmp_path / "nothing")
        with pytest.raises(ValueError, match="split must be one of"):
            CocoKarpathy(root=coco, split="dev")
        (coco / "dataset_coco.json").write_text(json.dumps({"images": [{"filename": "x"}]}))
        with pytest.raises(CollabInferError, match="not in Karpathy's dataset_coco.json format"):
            CocoKarpathy(root=coco)
        (coco / "dataset_coco.json").write_text("{")
        with pytest.raises(CollabInferError, match="cannot read"):
            CocoKarpathy(root=coco)
