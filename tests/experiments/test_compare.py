"""A run compared with a reference run by row hash (experiments.compare, issue #17)."""

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from collab_infer.cli import app
from experiments.compare import Comparison, compare_dirs, compare_tables, comparison_markdown
from experiments.config import load_config
from experiments.reproduce import ReproduceSummary, reproduce
from experiments.rows import ResultsStore
from experiments.runner import ImageSet

TINY = {
    "name": "loss",
    "schemes": [
        {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2, 4]}},
        {"label": "jpeg", "kind": "image", "qualities": [50]},
    ],
    "channels": [{"name": "erasure", "label": "iid", "sweep": {"loss": [0.0, 0.3]}}],
    "metrics": {"n_boot": 20},
}


def _run(out, fake_vlm, samples, reference=None):
    return reproduce(
        out,
        model=fake_vlm,
        configs=[load_config(TINY)],
        images=ImageSet.from_samples(samples),
        progress=False,
        log=lambda *_: None,
        reference=reference,
    )


class TestCompareTables:
    def test_nan_on_one_side_is_a_difference(self):
        ref = pd.DataFrame({"row_hash": ["a", "b"], "bleu4": [np.nan, 0.5]})
        run = pd.DataFrame({"row_hash": ["a", "b"], "bleu4": [np.nan, np.nan]})
        c = compare_tables(run, ref)
        assert c.matched == 2 and c.rows_differing == 1
        assert math.isinf(c.max_abs_diff["bleu4"])
        assert compare_tables(ref, ref).identical

    def test_only_common_columns_compared(self):
        ref = pd.DataFrame({"row_hash": ["a"], "bleu4": [0.5]})
        run = pd.DataFrame({"row_hash": ["a"], "bleu4": [0.5], "channel_uses": [10.0]})
        c = compare_tables(run, ref)
        assert c.max_abs_diff == {"bleu4": 0.0}
        assert c.one_sided == ("channel_uses",)
        assert "| columns on one side only (not compared) | `channel_uses` |" in (
            comparison_markdown(c)
        )

    def test_no_matched_rows_is_not_zero_difference(self):
        ref = pd.DataFrame({"row_hash": ["a"], "bleu4": [0.5]})
        run = pd.DataFrame({"row_hash": ["b"], "bleu4": [0.5]})
        c = compare_tables(run, ref)
        assert (c.matched, c.only_run, c.only_reference) == (0, 1, 1)
        assert math.isnan(c.max_abs_diff["bleu4"]) and not c.identical
        assert "n/a (no matched rows)" in comparison_markdown(c)

    def test_bad_tables_refused(self):
        ok = pd.DataFrame({"row_hash": ["a"], "bleu4": [0.5]})
        with pytest.raises(ValueError, match="no 'row_hash'"):
            compare_tables(pd.DataFrame({"bleu4": [1.0]}), ok)
        with pytest.raises(ValueError, match="repeats row hashes"):
            compare_tables(ok, pd.concat([ok, ok]))

    def test_missing_reference(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="no reference results"):
            compare_dirs(tmp_path, tmp_path / "nothing")


class TestReproduceAgainstReference:
    def test_rerun_identical_then_one_row_changed(self, tmp_path, fake_vlm, fake_samples):
        ref = tmp_path / "ref"
        first = _run(ref, fake_vlm, fake_samples)
        assert first.comparison is None and first.rows_run == 6
        # a second, independent computation of every row matches the reference exactly
        again = _run(tmp_path / "a", fake_vlm, fake_samples, reference=ref)
        assert again.rows_run == 6
        assert again.comparison.identical, again.comparison.summary()
        assert again.comparison.matched == 6
        assert set(again.comparison.max_abs_diff) >= {"bleu4", "bits", "packet_loss_rate"}
        assert "**identical**" in (tmp_path / "a" / "report.md").read_text()

        # deliberately change one reference row (metric and cost) and drop another
        bad = tmp_path / "bad"
        shutil.copytree(ref, bad)
        store = ResultsStore(bad)
        table = store.table()
        row = table.iloc[[1]].copy()
        row["bleu4"] = row["bleu4"] + 0.25
        row["bits"] = row["bits"] + 8.0
        store.append(row.to_dict("records"))
        gone = table["row_hash"].iloc[0]
        kept = store.table()[store.table()["row_hash"] != gone]
        (bad / ResultsStore.RESULTS).unlink()
        ResultsStore(bad).append(kept.to_dict("records"))

        out = _run(tmp_path / "b", fake_vlm, fake_samples, reference=bad)
        c = out.comparison
        assert not c.identical
        assert (c.matched, c.only_run, c.only_reference, c.rows_differing) == (5, 1, 0, 1)
        assert c.max_abs_diff["bleu4"] == pytest.approx(0.25)
        assert c.max_abs_diff["bits"] == pytest.approx(8.0)
        assert c.max_abs_diff["cider_d"] == 0.0
        text = (tmp_path / "b" / "report.md").read_text()
        assert "## Comparison with the reference run" in text
        assert "**different**" in text and "| rows only in this run | 1 |" in text
        assert "| max abs. difference of `bleu4` | 0.25 |" in text


class TestCheckFlag:
    @pytest.mark.parametrize(("identical", "code"), [(True, 0), (False, 1)])
    def test_exit_code(self, tmp_path, monkeypatch, identical, code):
        comp = Comparison(3, 0, 0 if identical else 1, {"bleu4": 0.0}, reference="ref")
        seen = {}

        def fake_run(out, **kw):
            seen.update(kw, out=out)
            return ReproduceSummary(tmp_path, tmp_path / "report.md", comparison=comp)

        monkeypatch.setattr("experiments.reproduce.reproduce", fake_run)
        res = CliRunner().invoke(app, ["reproduce", "--check", "--no-progress"])
        assert res.exit_code == code, res.output
        assert "rows matched" in res.output
        # the default output folder is the untracked runs/reproduce, compared with results/
        assert str(seen["out"]) == "runs/reproduce"
        assert seen["reference"].name == "results"

    def test_markdown_names_every_column(self):
        comp = Comparison(1, 0, 0, {"bleu4": 0.0, "channel_uses": 2.0})
        md = comparison_markdown(comp)
        assert "| max abs. difference of `channel_uses` | 2 |" in md
