"""Config mistakes found before the first row (and before the model loads): int64 seeds,
dataset name / split / options / paths / memory, and the config path itself."""

import pytest

from collab_infer.errors import CollabInferError
from experiments.config import load_config

BASE = {"name": "t", "schemes": [{"reducer": "full"}]}


def _with(**over):
    return {**BASE, **over}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_with(seeds=[2**64]), r"seeds: .*seeds must be < 2\*\*63 .*int64.*18446744073709551616"),
        (_with(seeds=[2**63 - 1]), None),
        (
            _with(dataset={"seed": 2**63}),
            r"dataset\.seed: .*less than or equal to 9223372036854775807",
        ),
        (
            _with(dataset={"name": "shapez"}),
            r"dataset: .*unknown dataset 'shapez'\. Did you mean 'shapes'",
        ),
        (
            _with(dataset={"split": "tset"}),
            r"dataset: .*unknown split 'tset' for dataset 'shapes'; valid: train",
        ),
        (
            _with(dataset={"options": {"colour": "red"}}),
            r"dataset: .*unknown option\(s\) colour for dataset 'shapes'; valid options: image_",
        ),
        (
            _with(dataset={"name": "folder"}),
            r"dataset: .*dataset 'folder' needs the option\(s\) root",
        ),
        (
            _with(dataset={"name": "folder", "options": {"root": "/nonexistent/imgs"}}),
            r"dataset 'folder': root /nonexistent/imgs does not exist",
        ),
        (_with(dataset={"name": "coco"}), r"coco needs annotations="),
        (
            _with(dataset={"n": 100_000_000}),
            r"dataset\.n = 100000000 shapes images of 64x64 pixels need about 1\.\d+ TB of memory"
            r".*lower dataset\.n",
        ),
        (_with(dataset={"options": {"n": 3}}), r"set n in dataset itself, not in dataset\.options"),
        (_with(metrics={"n_boot": 10**9}), r"metrics\.n_boot: .*less than or equal to 1000000"),
    ],
)
def test_config_mistakes(data, match):
    if match is None:
        load_config(data)
        return
    with pytest.raises(CollabInferError, match=match):
        load_config(data)


def test_quick_overrides_checked_too():
    with pytest.raises(CollabInferError, match=r"(?s)quick overrides.*unknown split 'nope'"):
        load_config(_with(quick={"dataset": {"split": "nope"}}), quick=True)


class TestConfigPath:
    def test_directory(self, tmp_path):
        with pytest.raises(CollabInferError, match=r"is a directory: pass a YAML file"):
            load_config(tmp_path)

    def test_missing(self, tmp_path):
        with pytest.raises(CollabInferError, match=r"x\.yaml does not exist"):
            load_config(tmp_path / "x.yaml")

    def test_device_file(self):
        with pytest.raises(CollabInferError, match=r"/dev/null is not a regular file"):
            load_config("/dev/null")

    def test_not_utf8(self, tmp_path):
        p = tmp_path / "c.yaml"
        p.write_bytes(b"name: caf\xe9\n")
        with pytest.raises(CollabInferError, match="is not UTF-8 text"):
            load_config(p)
