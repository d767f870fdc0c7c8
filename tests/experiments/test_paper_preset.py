"""experiments/configs/paper_fig3.yaml: the paper's Fig. 3 settings (PaliGemma-3B-224 on
COCO Karpathy test), completed with ``--set``, and run through ``collab-infer sweep`` with
a tiny random PaliGemma standing in for the 3B checkpoint."""

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from collab_infer.errors import CollabInferError
from experiments.config import expand_rows, load_config
from experiments.overrides import apply_overrides
from experiments.reproduce import CONFIG_DIR
from experiments.rows import ResultsStore

PRESET = CONFIG_DIR / "paper_fig3.yaml"


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory):
    """A Karpathy-format COCO folder with three test images."""
    root = tmp_path_factory.mktemp("coco")
    (root / "val2014").mkdir()
    images = []
    for i, (rgb, word) in enumerate([((220, 30, 30), "red"), ((30, 40, 220), "blue"),
                                     ((30, 200, 40), "green")]):  # fmt: skip
        name = f"COCO_val2014_{i + 1:012d}.jpg"
        Image.new("RGB", (48, 48), rgb).save(root / "val2014" / name)
        images.append({"filepath": "val2014", "filename": name, "cocoid": i + 1,
                       "split": "test", "sentences": [{"raw": f"A {word} square."}]})  # fmt: skip
    (root / "dataset_coco.json").write_text(json.dumps({"images": images}))
    return root


class TestPreset:
    def test_paper_settings(self, coco_root):
        cfg = load_config(PRESET, overrides=[f"dataset.options.root={coco_root}"])
        assert cfg.model.name == "paligemma:google/paligemma-3b-pt-224"
        assert (cfg.dataset.name, cfg.dataset.split, cfg.dataset.n) == ("coco", "test", None)
        g = cfg.generation
        assert (g.prompt, g.num_beams, g.max_new_tokens) == ("caption en", 2, 32)
        rows = expand_rows(cfg, 256)  # PaliGemma-224: N = 256 tokens
        ks = {s: sorted({r.k for r in rows if r.scheme == s}) for s in ("kmeans", "random")}
        assert ks["kmeans"] == [1, 2, 4, 8, 16, 32, 64, 128]
        assert ks["random"] == [4, 8, 16, 32, 64, 102, 128, 192]
        assert [r.k for r in rows if r.scheme == "full"] == [None]
        assert {r.channel for r in rows} == {"ideal"}

    def test_needs_the_images_on_disk(self):
        with pytest.raises(CollabInferError, match="root /path/to/coco does not exist"):
            load_config(PRESET)

    def test_set_wins_over_quick(self, coco_root):
        sets = [f"dataset.options.root={coco_root}", "dataset.n=2"]
        assert load_config(PRESET, quick=True, overrides=sets).dataset.n == 2
        assert load_config(PRESET, quick=True, overrides=sets[:1]).dataset.n == 8


class TestOverrides:
    def test_values_are_yaml(self):
        got = apply_overrides({"a": {"b": 1}, "l": [{"k": 1}]},
                              ["a.b=2", "a.c=[1, 2]", "l.0.k=x", "d=null", "e=true"])  # fmt: skip
        assert got == {"a": {"b": 2, "c": [1, 2]}, "l": [{"k": "x"}], "d": None, "e": True}

    @pytest.mark.parametrize(
        ("override", "match"),
        [
            ("a.b", "expected KEY=VALUE"),
            ("=3", "expected KEY=VALUE"),
            ("a..b=1", "empty segment"),
            ("a.b.c=1", "a.b is 1, not a mapping"),
            ("l.5=1", "indexes a list of 1 item"),
        ],
    )
    def test_errors(self, override, match):
        with pytest.raises(CollabInferError, match=match):
            apply_overrides({"a": {"b": 1}, "l": [1]}, [override])

    def test_unknown_key_is_named_by_validation(self):
        with pytest.raises(CollabInferError, match="generation.beams"):
            load_config({"name": "x", "schemes": [{"reducer": "full"}]},
                        overrides=["generation.beams=2"])  # fmt: skip


def test_preset_runs_with_a_tiny_stand_in(tmp_path, coco_root):
    from collab_infer.cli import app
    from collab_infer.models.tiny import build_tiny_paligemma

    model_dir = build_tiny_paligemma(tmp_path / "tiny_paligemma")  # N = 16 tokens
    out = tmp_path / "run"
    args = ["sweep", str(PRESET), "--quick", "--no-progress", "--no-plot", "--out", str(out)]
    args += ["--set", f"model.name=paligemma:{model_dir}"]
    args += ["--set", f"dataset.options.root={coco_root}", "--set", "dataset.n=2"]
    args += ["--set", "generation.max_new_tokens=4", "--set", "metrics.n_boot=20"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    df = ResultsStore(out).table()
    # K capped at the stand-in's N = 16: kmeans 1, 2, 4, 8, 16; random 1..12 (8 ratios)
    assert sorted(df[df["scheme"] == "kmeans"]["k"]) == [1, 2, 4, 8, 16]
    assert (df["num_beams"] == 2).all() and (df["n_images"] == 2).all()
    assert df["bleu4"].between(0, 1).all() and (df["primary_metric"] == "bleu4").all()
