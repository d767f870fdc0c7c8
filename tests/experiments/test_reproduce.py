"""The main job on the fake VLM with tiny configs: results, figures and report."""

import pytest
from typer.testing import CliRunner

from collab_infer.cli import app
from experiments.config import expand_rows, load_config
from experiments.reproduce import CONFIG_DIR, FIGURES, figure_configs, reproduce
from experiments.runner import ImageSet

TINY = [
    {
        "name": "fig3",
        "schemes": [
            {"label": "kmeans", "reducer": "kmeans", "budgets": {"ratio": [0.125, 0.25]}},
            {"label": "random", "reducer": "random", "budgets": {"ratio": [0.25, 0.5]}},
            {"label": "full", "reducer": "full"},
        ],
        "generation": {"batch_size": 16},
        "metrics": {"n_boot": 20},
    },
    {
        "name": "loss",
        "schemes": [
            {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2]}},
            {"label": "jpeg", "kind": "image", "qualities": [50]},
        ],
        "channels": [{"name": "erasure", "label": "iid", "sweep": {"loss": [0.0, 0.5]}}],
        "metrics": {"n_boot": 20},
    },
]


class TestShippedConfigs:
    @pytest.mark.parametrize("quick", [False, True])
    def test_all_valid_and_expand(self, quick):
        cfgs = figure_configs(quick=quick)
        assert [c.name for c in cfgs] == [stem for stem, _ in FIGURES]
        for c in cfgs:
            assert expand_rows(c, 64)
            assert c.model.name == "default" and c.dataset.name == "shapes"

    def test_quick_is_small(self):
        total = sum(len(expand_rows(c, 64)) * (c.dataset.n or 0) for c in figure_configs(True))
        assert total <= 300  # seven figure configs (fig3, rate, snr, loss, snrbudget, uses, nr)

    def test_paper_ratio_in_fig3(self):
        cfg = load_config(CONFIG_DIR / "fig3.yaml")
        kmeans = next(s for s in cfg.schemes if s.name == "kmeans")
        assert 8 / 256 in kmeans.budgets.ratio


class TestReproduce:
    def test_writes_everything(self, tmp_path, fake_vlm, fake_samples):
        cfgs = [load_config(c) for c in TINY]
        s = reproduce(
            tmp_path,
            model=fake_vlm,
            configs=cfgs,
            images=ImageSet.from_samples(fake_samples),
            progress=False,
            log=lambda *_: None,
        )
        assert s.rows_run == 5 + 4
        for name in ("results.parquet", "results.csv", "captions.jsonl", "report.md"):
            assert (tmp_path / name).exists(), name
        pngs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
        assert pngs == ["fig3.png", "loss.png", "tokens.png"]
        text = (tmp_path / "report.md").read_text()
        assert "## The paper's claims on this model" in text
        assert "relative to all tokens" in text
        assert "![loss](figures/loss.png)" in text
        assert "## Example captions" in text
        assert "| BLEU-4 of k-means minus all tokens (paired bootstrap 95% CI) | - |" in text
        assert "| image | reference | all tokens | kmeans K=2 |" in text
        again = reproduce(
            tmp_path,
            model=fake_vlm,
            configs=cfgs,
            images=ImageSet.from_samples(fake_samples),
            progress=False,
            log=lambda *_: None,
        )
        assert again.rows_run == 0 and again.rows_skipped == 9
        assert (s.rows_reused, again.rows_reused) == (0, 9)


class TestCli:
    def test_sweep_bad_config_exits_2_with_message(self, tmp_path):
        p = tmp_path / "c.yaml"
        p.write_text("name: x\nschemes: []\n")
        res = CliRunner().invoke(app, ["sweep", str(p), "--out", str(tmp_path / "o")])
        assert res.exit_code == 2
        assert "schemes" in res.output and "at least 1" in res.output

    def test_commands_registered(self):
        res = CliRunner().invoke(app, ["--help"])
        assert "reproduce" in res.output and "sweep" in res.output
