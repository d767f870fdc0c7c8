"""The ``folder`` dataset (captions.jsonl / captions.csv) and image reading errors."""

import json

import numpy as np
import pytest
from PIL import Image

from collab_infer.datasets import load
from collab_infer.datasets.folder import FolderDataset
from collab_infer.datasets.images import open_image
from collab_infer.errors import CollabInferError


def make_images(root, names):
    rng = np.random.default_rng(0)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((8, 10, 3)) * 255).astype(np.uint8)).save(root / name)


def write_jsonl(root, rows):
    (root / "captions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture
def jsonl_dir(tmp_path):
    make_images(tmp_path, ["a.png", "b.png", "sub/c.jpg"])
    write_jsonl(
        tmp_path,
        [
            {"image": "a.png", "captions": ["a red thing", "something red"]},
            {"image": "b.png", "caption": "one blue thing"},
            {"image": "sub/c.jpg", "captions": ["a green thing"], "id": "c-1"},
        ],
    )
    return tmp_path


class TestFolderJsonl:
    def test_samples(self, jsonl_dir):
        ds = FolderDataset(jsonl_dir)
        assert len(ds) == 3
        s = ds[0]
        assert s.id == "a.png" and s.references == ["a red thing", "something red"]
        assert s.image.mode == "RGB" and s.image.size == (10, 8)
        assert ds[1].references == ["one blue thing"]
        assert ds[2].id == "c-1"
        assert [x.id for x in ds[1:]] == ["b.png", "c-1"]

    def test_splits(self, tmp_path):
        make_images(tmp_path, ["a.png", "b.png"])
        write_jsonl(
            tmp_path,
            [
                {"image": "a.png", "captions": ["x"], "split": "train"},
                {"image": "b.png", "captions": ["y"], "split": "test"},
            ],
        )
        assert [s.id for s in FolderDataset(tmp_path, split="test")] == ["b.png"]
        with pytest.raises(CollabInferError, match="no entries of split 'val'; splits present"):
            FolderDataset(tmp_path, split="val")

    @pytest.mark.parametrize(
        "line, match",
        [
            ("{not json", r"captions.jsonl:2: not valid JSON"),
            ('{"captions": ["x"]}', r"captions.jsonl:2: 'image' must be"),
            ('{"image": "a.png", "captions": []}', r"captions.jsonl:2: 'captions' must be"),
            ('{"image": "a.png", "captions": ["  "]}', r"captions.jsonl:2: a caption is empty"),
            ("[1, 2]", r"captions.jsonl:2: expected a JSON object"),
        ],
    )
    def test_malformed_lines_name_file_and_line(self, jsonl_dir, line, match):
        first = json.dumps({"image": "b.png", "captions": ["ok"]})
        (jsonl_dir / "captions.jsonl").write_text(first + "\n" + line + "\n")
        with pytest.raises(CollabInferError, match=match):
            FolderDataset(jsonl_dir)

    def test_missing_image_is_named(self, jsonl_dir):
        write_jsonl(jsonl_dir, [{"image": "gone.png", "captions": ["x"]}])
        with pytest.raises(CollabInferError, match=r"names .*gone.png, which does not exist"):
            FolderDataset(jsonl_dir)

    def test_duplicate_ids(self, jsonl_dir):
        write_jsonl(jsonl_dir, [{"image": "a.png", "captions": ["x"]}] * 2)
        with pytest.raises(CollabInferError, match="appears twice"):
            FolderDataset(jsonl_dir)

    def test_unreadable_image_is_named_when_read(self, jsonl_dir):
        (jsonl_dir / "a.png").write_text("garbage")
        ds = FolderDataset(jsonl_dir)
        with pytest.raises(CollabInferError, match=r"cannot read image .*a.png"):
            ds[0]


class TestFolderCsv:
    def test_rows_are_grouped_per_image(self, tmp_path):
        make_images(tmp_path, ["a.png", "b.png"])
        (tmp_path / "captions.csv").write_text(
            'image,caption\na.png,first caption\nb.png,other\na.png,"second, with comma"\n'
        )
        ds = FolderDataset(tmp_path)
        assert [s.id for s in ds] == ["a.png", "b.png"]
        assert ds[0].references == ["first caption", "second, with comma"]

    def test_missing_columns(self, tmp_path):
        make_images(tmp_path, ["a.png"])
        (tmp_path / "captions.csv").write_text("file,text\na.png,x\n")
        with pytest.raises(CollabInferError, match="needs the columns 'image' and 'caption'"):
            FolderDataset(tmp_path)


class TestFolderErrors:
    def test_missing_directory(self, tmp_path):
        with pytest.raises(CollabInferError, match="does not exist"):
            FolderDataset(tmp_path / "nope")

    def test_no_captions_file(self, tmp_path):
        with pytest.raises(CollabInferError, match="has no captions file: add captions.jsonl"):
            FolderDataset(tmp_path)

    def test_both_caption_files(self, jsonl_dir):
        (jsonl_dir / "captions.csv").write_text("image,caption\na.png,x\n")
        with pytest.raises(CollabInferError, match="both captions.jsonl and captions.csv"):
            FolderDataset(jsonl_dir)
        assert len(FolderDataset(jsonl_dir, captions="captions.csv")) == 1

    def test_explicit_captions_file_missing(self, jsonl_dir):
        with pytest.raises(CollabInferError, match=r"captions file .*other.jsonl does not exist"):
            FolderDataset(jsonl_dir, captions="other.jsonl")


class TestLoadFolder:
    def test_subsample_is_deterministic(self, jsonl_dir):
        a = load("folder", root=jsonl_dir, n=2, seed=1)
        b = load("folder", root=jsonl_dir, n=2, seed=1)
        assert len(a) == 2 and [s.id for s in a] == [s.id for s in b]
        ids = {tuple(s.id for s in load("folder", root=jsonl_dir, n=2, seed=s)) for s in range(8)}
        assert len(ids) > 1  # the seed matters

    def test_all_and_too_many(self, jsonl_dir):
        assert len(load("folder", root=jsonl_dir)) == 3
        with pytest.raises(ValueError, match="n=5 exceeds the 3 samples"):
            load("folder", root=jsonl_dir, n=5)


class TestOpenImage:
    def test_errors_name_the_file(self, tmp_path):
        with pytest.raises(CollabInferError, match=r"image file .*x.png does not exist"):
            open_image(tmp_path / "x.png")
        with pytest.raises(CollabInferError, match="is a directory"):
            open_image(tmp_path)
        (tmp_path / "t.png").write_bytes(b"\x89PNG broken")
        with pytest.raises(CollabInferError, match=r"cannot read image .*t.png"):
            open_image(tmp_path / "t.png")

    def test_converts_to_rgb(self, tmp_path):
        Image.new("L", (4, 3), 7).save(tmp_path / "g.png")
        im = open_image(tmp_path / "g.png")
        assert im.mode == "RGB" and im.getpixel((0, 0)) == (7, 7, 7)
