"""Plots and report from a small hand-made results table (no model, no channel)."""

import numpy as np
import pandas as pd
import pytest

from experiments import plots
from experiments.config import expand_rows, load_config
from experiments.report import check_claims, figure_rows, markdown_table, write_report

CFG = load_config(
    {
        "name": "fig3",
        "schemes": [
            {"reducer": "kmeans", "budgets": {"k": [1, 2, 4, 8]}},
            {"reducer": "random", "budgets": {"k": [2, 4, 8, 16]}},
            {"reducer": "full"},
        ],
    }
)
N = 16
ROWS = expand_rows(CFG, N)
BLEU = {("kmeans", 1): 0.2, ("kmeans", 2): 0.4, ("kmeans", 4): 0.5, ("kmeans", 8): 0.55}
BLEU |= {("random", 2): 0.1, ("random", 4): 0.3, ("random", 8): 0.5, ("random", 16): 0.6}
BLEU |= {("full", None): 0.6}


def _table():
    rows = []
    for spec in expand_rows(CFG, N):
        k = spec.k if spec.k is not None else N
        b = BLEU[(spec.reducer, spec.k)]
        rows.append(
            {
                **spec.key(),
                "row_hash": spec.row_hash,
                "scheme": "stored-label",
                "channel_label": "x",
                "n_tokens": N,
                "k": k,
                "k_over_n": k / N,
                "bits": 100.0 * k,
                "bleu4": b,
                "bleu4_lo": b - 0.05,
                "bleu4_hi": b + 0.05,
                "cider_d": 2 * b,
                "rouge_l": b,
                "snr_db": float(k),
                "loss": k / 32,
                "packet_loss_rate": k / 32,
                "images_lost": 0,
                "quality": np.nan,
            }
        )
    return pd.DataFrame(rows)


class TestFigureRows:
    def test_labels_come_from_the_config(self):
        df = figure_rows(_table(), ROWS)
        assert len(df) == 9
        assert set(df["scheme"]) == {"kmeans", "random", "full"}

    def test_rows_of_other_configs_are_excluded(self):
        other = load_config(
            {"name": "o", "schemes": [{"reducer": "kmeans", "budgets": {"k": [3]}}]}
        )
        assert len(figure_rows(_table(), expand_rows(other, N))) == 0


class TestClaims:
    def test_nearest_ratio_and_interpolated_random_match(self):
        claims = check_claims(figure_rows(_table(), ROWS))
        # 8/256 = 0.03125; nearest k/N in log scale among 1/16..8/16 is 1/16
        assert claims.k == 1
        assert claims.relative == pytest.approx(0.2 / 0.6)
        # random reaches 0.2 between k=2 (0.1) and k=4 (0.3): k = 3 -> ratio 3/16
        assert claims.random_ratio_match == pytest.approx(3 / 16)

    def test_random_never_reaching(self):
        df = figure_rows(_table(), ROWS)
        df.loc[df["reducer"] == "random", "bleu4"] = 0.01
        claims = check_claims(df)
        assert claims.random_ratio_match is None
        assert "never reaches" in claims.random_note

    def test_missing_rows_give_none(self):
        assert check_claims(_table().iloc[0:0]) is None


class TestPlots:
    @pytest.mark.parametrize("fn", ["plot_fig3", "plot_rate", "plot_snr", "plot_loss"])
    def test_png_written(self, tmp_path, fn):
        df = figure_rows(_table(), ROWS)
        path = getattr(plots, fn)(df, tmp_path / f"{fn}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000

    def test_empty_rows_refused(self, tmp_path):
        with pytest.raises(ValueError, match="no rows to plot"):
            plots.plot_rate(_table().iloc[0:0], tmp_path / "x.png")

    def test_unknown_metric_refused(self, tmp_path):
        with pytest.raises(ValueError, match="metric 'bleu9'"):
            plots.plot_fig3(figure_rows(_table(), ROWS), tmp_path / "x.png", metric="bleu9")

    def test_token_map(self, tmp_path):
        from PIL import Image

        rng = np.random.default_rng(0)
        img = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        tokens = rng.normal(size=(16, 4)).astype(np.float32)
        path = plots.plot_token_map(img, tokens, (4, 4), tmp_path / "t.png", ks=(2, 4))
        assert path.read_bytes()[:4] == b"\x89PNG"
        with pytest.raises(ValueError, match="tokens must have shape"):
            plots.plot_token_map(img, tokens[:5], (4, 4), tmp_path / "u.png")


class TestReport:
    def test_report_has_claims_tables_and_figures(self, tmp_path):
        df = figure_rows(_table(), ROWS)
        fig = plots.plot_fig3(df, tmp_path / "figures" / "fig3.png")
        path = write_report(
            tmp_path,
            [(CFG, df, str(fig.relative_to(tmp_path)))],
            claims=check_claims(df),
            meta={"mode": "test"},
        )
        text = path.read_text()
        assert "| BLEU-4 of k-means at that K, relative to all tokens | about 80% | 33.3%" in text
        assert "18.8% of the tokens" in text
        assert "| same with K = 8 literally (K/N = 8/16) | about 80% | 91.7% |" in text
        assert "100 vs 1600 bits (6.2%)" in text
        assert "![fig3](figures/fig3.png)" in text
        assert "0.5500 [0.500, 0.600]" in text

    def test_markdown_table_formats_numbers(self):
        df = pd.DataFrame({"a": ["x"], "b": [0.123456], "c": [np.nan], "d": [123456789.0]})
        assert (
            markdown_table(df, ["a", "b", "c", "d"]).splitlines()[2]
            == "| x | 0.1235 |  | 1.23e+08 |"
        )


class TestBitsToReach:
    def test_fewest_bits_per_scheme(self):
        from experiments.report import bits_to_reach

        df = figure_rows(_table(), ROWS)
        reach = bits_to_reach(df, fraction=0.9).set_index("scheme")
        # target 0.9 * 0.6 = 0.54: kmeans first at k=8 (800 bits), random at k=16
        assert reach.loc["kmeans", "bits"] == 800.0
        assert reach.loc["random", "bits"] == 1600.0
        never = bits_to_reach(df, fraction=0.99).set_index("scheme")
        assert never.loc["kmeans", "bits"] is None or np.isnan(never.loc["kmeans", "bits"])


class TestSeeds:
    def test_repeated_x_is_averaged(self):
        from experiments.plots import _mean_over_repeats

        g = pd.DataFrame(
            {"x": [2.0, 1.0, 2.0], "bleu4": [0.2, 0.5, 0.4], "bleu4_lo": [0.1, 0.4, 0.3]}
        )
        out = _mean_over_repeats(g, "x", "bleu4")
        assert out["x"].tolist() == [1.0, 2.0]
        assert out["bleu4"].tolist() == pytest.approx([0.5, 0.3])
        assert out["bleu4_lo"].tolist() == pytest.approx([0.4, 0.2])


def _budget_table():
    """Budget rows: two schemes at two SNRs x two budgets (a scheme fails one point)."""
    rows = []
    for snr in (0.0, 10.0):
        for budget in (1000.0, 4000.0):
            for scheme, link, base in (("kmeans", "adaptive MCS", 0.5), ("kmeans", "analog", 0.4)):
                fits = not (link == "adaptive MCS" and snr == 0.0 and budget == 1000.0)
                b = (base + snr / 100 + budget / 40000) if fits else 0.0
                analog = link == "analog"
                rows.append(
                    {
                        "row_hash": f"{link}{snr}{budget}",
                        "scheme": scheme,
                        "channel_label": link,
                        "kind": "tokens",
                        "reducer": "kmeans",
                        "k": 8 if fits else None,
                        "number_format": "analog" if analog else ("fp16" if fits else None),
                        "index_coding": "side-info" if analog else "auto",
                        "channel_params": '{"bandwidth_ratio": 0.6}' if analog else "{}",
                        "quality": np.nan,
                        "snr_db": snr,
                        "budget_channel_uses": budget,
                        "budget_fit": "fits" if fits else "no candidate fits 1000 channel uses",
                        "budget_planned_uses": budget * 0.99 if fits else 1200.0,
                        "channel_uses": budget * 0.99 if fits else 0.0,
                        "bits": 2000.0,
                        "airtime_s": budget * 1e-6,
                        "latency_s": budget * 1e-6,
                        "capacity_ratio": 1.5,
                        "packet_loss_rate": 0.0,
                        "images_lost": 0 if fits else 4,
                        "bleu4": b,
                        "bleu4_lo": b - 0.04,
                        "bleu4_hi": b + 0.04,
                        "cider_d": b,
                    }
                )
    return pd.DataFrame(rows)


class TestBudgetFiguresAndFrontier:
    @pytest.mark.parametrize("fn", ["plot_snr_budget", "plot_uses"])
    def test_png_written(self, tmp_path, fn):
        path = getattr(plots, fn)(_budget_table(), tmp_path / f"{fn}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000

    def test_uses_needs_a_fitting_row(self, tmp_path):
        t = _budget_table().assign(channel_uses=0.0)
        with pytest.raises(ValueError, match="no row fits"):
            plots.plot_uses(t, tmp_path / "x.png")

    def test_frontier_picks_the_best_per_point(self):
        from experiments.report import frontier

        f = frontier(_budget_table()).set_index(["snr_db", "budget_channel_uses"])
        assert len(f) == 4
        # digital fails at (0 dB, 1000): analog wins there, digital elsewhere
        assert f.loc[(0.0, 1000.0), "best"] == "analog kmeans K=8 r=0.6"
        assert f.loc[(0.0, 1000.0), "runner_up"] == ""  # rows that do not fit compete not
        assert f.loc[(10.0, 4000.0), "best"] == "adaptive MCS kmeans K=8 fp16/auto"
        assert f.loc[(10.0, 4000.0), "bleu4"] == pytest.approx(0.7)
        assert bool(f.loc[(10.0, 4000.0), "ci_overlap"]) is False
        assert frontier(_table()).empty  # rows without budgets have no frontier

    def test_frontier_ties_go_to_fewer_channel_uses_and_nothing_fits_is_said(self):
        from experiments.report import frontier

        t = _budget_table()
        t["bleu4"] = 0.5
        t.loc[t["channel_label"] == "analog", "channel_uses"] = 10.0
        f = frontier(t).set_index(["snr_db", "budget_channel_uses"])
        assert f.loc[(10.0, 4000.0), "best"].startswith("analog")
        t["budget_fit"] = "no candidate fits"
        assert set(frontier(t)["best"]) == {"nothing fits"}

    def test_report_has_costs_snr_label_and_frontier(self, tmp_path):
        cfg = load_config(
            {
                "name": "snrbudget",
                "budget": {"channel_uses": [1000, 4000]},
                "schemes": [{"reducer": "kmeans", "budgets": {"k": [8]}}],
            }
        )
        path = write_report(tmp_path, [(cfg, _budget_table(), None)], claims=None, meta={})
        text = path.read_text()
        header = next(line for line in text.splitlines() if line.startswith("| scheme |"))
        for col in (
            "Es/N0 per complex symbol (dB)",
            "payload bits",
            "channel uses",
            "airtime (s)",
            "latency (s)",
            "capacity ratio",
            "budget (channel uses)",
            "packet loss (realised)",
            "budget used",
        ):
            assert col in header, col
        assert "| 99.0% |" in text  # channel uses / budget of a fitted row
        assert "## Operating-point frontier (measured)" in text
        assert "| 0 | 1000 | analog kmeans K=8 r=0.6 |" in text
        assert "no candidate fits 1000 channel uses" in text


def test_capacity_check_counts_rows_delivering_above_capacity():
    import math

    import pandas as pd

    from experiments.report import capacity_check

    df = pd.DataFrame(
        {
            "row_hash": ["a", "b", "c", "d"],
            "number_format": ["fp16", "fp16", "int8", "analog"],
            "capacity_ratio": [2.0, 0.5, 0.9, 3.0],
            "capacity_ratio_delivered": [2.0, math.inf, 0.95, 3.0],
            "images_lost": [0, 10, 2, 0],
            "n_images": [10, 10, 10, 10],
            "ch_side_capacity_ratio": [math.nan, math.nan, math.nan, 1.9],
        }
    )
    text = "\n".join(capacity_check([df]))
    assert "3 digital rows" in text
    assert "rows delivering above capacity: **1**" in text  # row c: 0.95 < 1
    assert "rows offered above capacity (fixed MCS): 2, which lost 60.0%" in text
    assert "1 analog rows; min side-link ratio 1.9" in text
    assert capacity_check([]) == []
