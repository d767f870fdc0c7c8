"""The dataset registry, ``load`` and the lazy ``hf`` backend."""

import builtins
import sys

import pytest

from collab_infer.datasets import DATASETS, load, select_indices
from collab_infer.datasets.hf import _references
from collab_infer.datasets.sample import Sample
from collab_infer.errors import CollabInferError


class TestRegistry:
    def test_names(self):
        assert DATASETS.names() == ["coco", "folder", "gqa", "hf", "shapes", "textvqa", "vqav2"]

    def test_unknown(self):
        with pytest.raises(ValueError, match="Did you mean 'folder'"):
            load("foldr")

    def test_shapes_generates_exactly_n(self):
        samples = load("shapes", split="test", n=3, seed=0)
        assert len(samples) == 3 and all(isinstance(s, Sample) for s in samples)
        again = load("shapes", split="test", n=3, seed=0)
        assert [s.references for s in samples] == [s.references for s in again]


class TestSelectIndices:
    def test_deterministic_sorted_distinct(self):
        a = select_indices(100, 10, seed=3)
        assert a == select_indices(100, 10, seed=3) and a == sorted(set(a))
        assert a != select_indices(100, 10, seed=4)
        assert select_indices(5, None, seed=0) == [0, 1, 2, 3, 4]
        assert select_indices(5, 5, seed=9) == [0, 1, 2, 3, 4]

    @pytest.mark.parametrize("n", [0, -1, 2.5, True])
    def test_bad_n(self, n):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            select_indices(5, n, seed=0)


class TestSample:
    def test_frozen_and_validated(self):
        from PIL import Image

        s = Sample("x", Image.new("RGB", (2, 2)), ["a"])
        with pytest.raises(AttributeError):
            s.id = "y"
        with pytest.raises(ValueError, match="non-empty string"):
            Sample("", s.image, [])
        with pytest.raises(TypeError, match="references must be a list of strings"):
            Sample("x", s.image, [1])


class TestHF:
    def test_clear_error_without_the_datasets_library(self, monkeypatch):
        real_import = builtins.__import__

        def no_datasets(name, *args, **kw):
            if name == "datasets" or name.startswith("datasets."):
                raise ImportError("No module named 'datasets'")
            return real_import(name, *args, **kw)

        monkeypatch.delitem(sys.modules, "datasets", raising=False)
        monkeypatch.setattr(builtins, "__import__", no_datasets)
        with pytest.raises(CollabInferError, match="pip install datasets"):
            load("hf", path="org/captions")

    def test_references_shapes(self):
        assert _references(" a cat ") == ["a cat"]
        assert _references(["a", "b"]) == ["a", "b"]
        assert _references([{"raw": "x"}, {"raw": "y"}]) == ["x", "y"]
        with pytest.raises(CollabInferError, match="cannot read references"):
            _references(3)


class _Image:  # stands in for datasets.Image (detected by its type name)
    pass


_Image.__name__ = "Image"


class _FakeSplit:
    """The part of a ``datasets.Dataset`` the adapter uses: features, len, row access."""

    def __init__(self, rows):
        self.rows = rows
        self.features = {"image": _Image(), "sentences": object(), "cocoid": object()}

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


class TestHFRows:
    @pytest.fixture
    def fake_datasets(self, monkeypatch):
        import types

        from PIL import Image

        rows = [
            {
                "image": Image.new("L", (3, 2), i),
                "sentences": [{"raw": f"cap {i}"}],
                "cocoid": 7 + i,
            }
            for i in range(4)
        ]
        calls = []

        def load_dataset(path, split, **kw):
            calls.append((path, split, kw))
            if path == "offline/only":
                raise ConnectionError("no network")
            return _FakeSplit(rows)

        module = types.SimpleNamespace(load_dataset=load_dataset)
        monkeypatch.setitem(sys.modules, "datasets", module)
        return calls

    def test_columns_detected_and_rows_converted(self, fake_datasets):
        samples = load("hf", path="org/captions", split="test", n=2, seed=0)
        assert len(samples) == 2
        s = samples[0]
        assert s.image.mode == "RGB" and s.references[0].startswith("cap ")
        assert s.id == str(7 + int(s.references[0].split()[-1]))
        assert fake_datasets[0][:2] == ("org/captions", "test")

    def test_no_hub_gives_a_clear_error(self, fake_datasets):
        with pytest.raises(CollabInferError, match="HF_HUB_OFFLINE=0"):
            load("hf", path="offline/only")

    def test_missing_caption_column(self, fake_datasets):
        with pytest.raises(CollabInferError, match="no caption column .* pass caption_column"):
            load("hf", path="org/captions", caption_column="text")
