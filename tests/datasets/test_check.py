"""collab_infer.datasets.check: the dry check run before any image is read."""

import pytest

from collab_infer import datasets
from collab_infer.datasets.check import available_memory_bytes, check
from collab_infer.errors import CollabInferError


class TestCheck:
    @pytest.mark.parametrize(
        ("name", "kw", "match"),
        [
            (None, {}, "a dataset name must be a string"),
            ("shapez", {}, "Did you mean 'shapes'"),
            ("shapes", {"split": "dev"}, "unknown split 'dev' for dataset 'shapes'"),
            ("coco", {"split": "dev", "root": "."}, "unknown split 'dev' for dataset 'coco'"),
            ("shapes", {"size": 32}, r"unknown option\(s\) size .*valid options: image_size"),
            ("shapes", {"image_size": True}, "image_size must be a positive int"),
            ("folder", {}, r"dataset 'folder' needs the option\(s\) root"),
            ("hf", {}, r"dataset 'hf' needs the option\(s\) path"),
            ("coco", {}, "coco needs annotations="),
            ("coco", {"annotations": "/no/such.json"}, "annotations file /no/such.json does not"),
        ],
    )
    def test_refused(self, name, kw, match):
        with pytest.raises(CollabInferError, match=match):
            check(name, **kw)

    def test_root_is_a_file(self, tmp_path):
        f = tmp_path / "f"
        f.write_text("x")
        with pytest.raises(CollabInferError, match="root .* is not a directory"):
            check("folder", root=f)

    def test_memory_estimate_scales_with_image_size(self):
        avail = available_memory_bytes()
        assert avail is not None and avail > 0
        n = int(avail // (64 * 64 * 3))  # fits at 64 px only if under half of memory: refused
        with pytest.raises(CollabInferError, match=r"lower dataset\.n \(at most about \d+ here\)"):
            check("shapes", n=n)
        check("shapes", n=1000, image_size=32)

    def test_load_runs_the_check_before_rendering(self):
        with pytest.raises(CollabInferError, match="need about"):
            datasets.load("shapes", n=10**9)
        assert len(datasets.load("shapes", n=2)) == 2
