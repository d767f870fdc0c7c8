"""Channel-use budgets: config, row expansion, fitting from real bytes, rows recorded."""

import dataclasses
import json
import math

import pytest

import channel
import codec
from collab_infer.errors import CollabInferError
from experiments.budget import analog_ratio, fit_largest, fit_row
from experiments.config import expand_rows, load_config
from experiments.jpeg_baseline import encode_image, split_packets
from experiments.rows import ResultsStore
from experiments.runner import ImageSet, run_sweep

N = 16  # the fake VLM's tokens
LINK = {"name": "uncoded", "params": {"modulation": "qpsk"}, "sweep": {"snr_db": [20.0]}}


def _cfg(budget, schemes=None, channels=None):
    return load_config(
        {
            "name": "b",
            "budget": {"channel_uses": budget},
            "schemes": schemes
            or [
                {
                    "label": "kmeans",
                    "reducer": "kmeans",
                    "budgets": {"k": [1, 2, 4, 8]},
                    "number_formats": ["fp16", "int8"],
                },
                {"label": "jpeg", "kind": "image", "qualities": [10, 30, 60, 90]},
            ],
            "channels": channels or [LINK],
            "metrics": {"n_boot": 20},
        }
    )


class TestConfig:
    def test_scalar_or_list(self):
        assert _cfg(1000).budget.channel_uses == [1000.0]
        assert _cfg([500, 1000]).budget.channel_uses == [500.0, 1000.0]

    @pytest.mark.parametrize(
        ("budget", "match"),
        [(-5, "finite and > 0"), ([], "at least one"), ([3, 3], "unique"), ("x", "channel_uses")],
    )
    def test_bad_budget_names_the_field(self, budget, match):
        with pytest.raises(CollabInferError, match=r"budget\.channel_uses") as e:
            _cfg(budget)
        assert match in str(e.value)

    def test_unknown_key_refused(self):
        with pytest.raises(CollabInferError, match=r"budget\.uses"):
            load_config({"name": "b", "budget": {"uses": 3}, "schemes": [{"reducer": "full"}]})


class TestExpand:
    def test_one_row_per_scheme_and_budget(self):
        rows = expand_rows(_cfg([500, 1000]), N)
        assert len(rows) == 4
        tok = [r for r in rows if r.kind == "tokens"]
        assert {r.budget_channel_uses for r in tok} == {500.0, 1000.0}
        assert tok[0].k is None and tok[0].number_format is None
        assert tok[0].budget_candidates == {
            "k": [1, 2, 4, 8],
            "number_format": ["fp16", "int8"],
            "index_coding": ["auto"],
        }
        img = [r for r in rows if r.kind == "image"][0]
        assert img.quality is None and img.budget_candidates == {"quality": [10, 30, 60, 90]}
        assert len({r.row_hash for r in rows}) == 4

    def test_analog_rows_per_k(self):
        cfg = _cfg(
            800,
            schemes=[{"reducer": "kmeans", "budgets": {"k": [2, 4]}}],
            channels=[{"name": "analog", "sweep": {"snr_db": [0.0, 10.0]}}],
        )
        rows = expand_rows(cfg, N)
        assert [(r.k, r.number_format) for r in rows] == [(2, "analog"), (4, "analog")] * 2

    def test_rows_without_budget_keep_their_hash(self):
        cfg = load_config({"name": "x", "schemes": [{"reducer": "full"}]})
        row = expand_rows(cfg, N)[0]
        assert "budget_channel_uses" not in row.key() and "fitted_from" not in row.key()
        # fitting outputs never enter the hash
        assert dataclasses.replace(row, budget_fit="fits").row_hash == row.row_hash


def _payloads(vlm, samples, reducer="kmeans"):
    from collab_infer import reducers

    tokens = vlm.encode([s.image for s in samples])
    red = reducers.make(reducer)
    cache = {}

    def payloads(row):
        k = row.k if row.k is not None else N
        if k not in cache:
            cache[k] = list(red(tokens, k, seed=0, grid=vlm.grid))
        return cache[k]

    return payloads


def _uses(ch, payloads, k, fmt):
    spec = type("R", (), {"k": k})
    return max(
        ch.planned_channel_uses(codec.packetize(codec.encode(p, number_format=fmt), mtu=1400))
        for p in payloads(spec)
    )


class TestFitTokens:
    def test_largest_payload_that_fits(self, fake_vlm, fake_samples):
        ch = channel.make("uncoded", modulation="qpsk", snr_db=20.0)
        payloads = _payloads(fake_vlm, fake_samples)
        cost = {(k, f): _uses(ch, payloads, k, f) for k in (1, 2, 4, 8) for f in ("fp16", "int8")}
        budget = (cost[(4, "fp16")] + cost[(8, "fp16")]) / 2
        row = [r for r in expand_rows(_cfg(budget), N) if r.kind == "tokens"][0]
        fitted = fit_row(row, channel=ch, n_tokens=N, payloads=payloads)
        fits = {c: u for c, u in cost.items() if u <= budget}
        # the chosen one fits, and no fitting candidate has more payload bytes
        assert fitted.budget_fit == "fits"
        assert fitted.budget_planned_uses == cost[(fitted.k, fitted.number_format)] <= budget
        assert (fitted.k, fitted.number_format) in fits
        assert (8, "fp16") not in fits and (4, "fp16") in fits
        assert fitted.row_hash == row.row_hash and fitted.index_coding == "auto"

    def test_nothing_fits_is_recorded(self, fake_vlm, fake_samples):
        ch = channel.make("uncoded", modulation="qpsk", snr_db=20.0)
        row = [r for r in expand_rows(_cfg(10), N) if r.kind == "tokens"][0]
        fitted = fit_row(row, channel=ch, n_tokens=N, payloads=_payloads(fake_vlm, fake_samples))
        assert fitted.k is None and fitted.budget_fit.startswith("no candidate fits 10 ")

    def test_channel_without_a_plan_is_a_clear_error(self, fake_vlm, fake_samples):
        class NoPlan(channel.Channel):
            name = "noplan"

            def transmit(self, packets, seed):
                raise AssertionError

        row = [r for r in expand_rows(_cfg(10), N) if r.kind == "tokens"][0]
        with pytest.raises(CollabInferError, match="cannot plan its channel uses"):
            fit_row(row, channel=NoPlan(), n_tokens=N, payloads=_payloads(fake_vlm, fake_samples))


class TestFitImage:
    def test_largest_quality_that_fits(self, fake_samples):
        ch = channel.make("uncoded", modulation="16qam", snr_db=20.0)
        images = [s.image for s in fake_samples]

        def cost(q):
            return max(
                ch.planned_channel_uses(split_packets(encode_image(im, "jpeg", q), 1400))
                for im in images
            )

        budget = (cost(30) + cost(60)) / 2
        assert cost(30) < cost(60)
        row = [r for r in expand_rows(_cfg(budget), N) if r.kind == "image"][0]
        fitted = fit_row(row, channel=ch, n_tokens=N, payloads=None, images=images)
        assert fitted.quality == 30 and fitted.budget_planned_uses == cost(30)


class TestAnalogRatio:
    def test_fills_the_budget_for_every_image(self):
        # U(r) = ceil(r n) + S with n = 96 values, S = 100 + 7 i side uses
        plan = {i: (96, 100 + 7 * i) for i in range(3)}

        def u(r, i):
            n, s = plan[i]
            return math.ceil(r * n - 1e-9) + s

        fit = analog_ratio([0, 1, 2], u, 1000.0)
        assert fit.fits and fit.choice == pytest.approx((1000 - 114) / 96)
        assert max(u(fit.choice, i) for i in range(3)) <= 1000
        # every image within 2% of the budget (the side info spread is 14 uses)
        assert min(u(fit.choice, i) for i in range(3)) >= 0.98 * 1000

    def test_side_info_alone_too_big(self):
        fit = analog_ratio([0], lambda r, i: math.ceil(r * 10) + 500, 400.0)
        assert not fit.fits and "side information alone needs 501" in fit.note


class TestFitLargest:
    def test_ties_go_to_the_later_candidate(self):
        fit = fit_largest(["a", "b"], cost=lambda c: 1.0, size=lambda c: 5, budget=2)
        assert fit.choice == "b"

    def test_empty_refused(self):
        with pytest.raises(ValueError, match="candidates"):
            fit_largest([], cost=float, size=float, budget=1)


class TestRunner:
    def test_budget_rows_recorded_and_resumable(self, tmp_path, fake_vlm, fake_samples):
        ims = ImageSet.from_samples(fake_samples)
        ch = channel.make("uncoded", modulation="qpsk", snr_db=20.0)
        big = _uses(ch, _payloads(fake_vlm, fake_samples), 8, "fp16")
        cfg = _cfg([10.0, float(big), 1e5])
        res = run_sweep(cfg, tmp_path, model=fake_vlm, images=ims, progress=False)
        assert res.rows_run == 6
        t = ResultsStore(tmp_path).table()
        tok = t[t["kind"] == "tokens"].set_index("budget_channel_uses")
        assert tok.loc[big, "k"] == 8 and tok.loc[big, "number_format"] == "fp16"
        assert tok.loc[big, "budget_fit"] == "fits"
        assert tok.loc[big, "images_lost"] == 0
        assert tok.loc[10.0, "images_lost"] == len(ims)
        assert tok.loc[10.0, "budget_fit"].startswith("no candidate fits")
        assert tok.loc[10.0, "bleu4"] == 0.0 and math.isnan(tok.loc[10.0, "k_over_n"])
        img = t[t["kind"] == "image"].set_index("budget_channel_uses")
        # a JPEG of these images needs more than the token payload's budget
        assert img.loc[big, "budget_fit"].startswith("no candidate fits")
        assert img.loc[1e5, "quality"] == 90 and img.loc[1e5, "images_lost"] == 0
        assert img.loc[1e5, "budget_planned_uses"] <= 1e5
        again = run_sweep(cfg, tmp_path, model=fake_vlm, images=ims, progress=False)
        assert again.rows_run == 0 and again.rows_skipped == 6


class TestSchemeChannels:
    CHANNELS = [
        {"name": "erasure", "label": "lossy", "sweep": {"loss": [0.0, 0.1]}},
        {"name": "ideal", "label": "clean"},
    ]

    def test_only_the_named_channels(self):
        cfg = load_config(
            {
                "name": "c",
                "schemes": [
                    {"reducer": "full", "channels": ["clean"]},
                    {"kind": "image", "qualities": [50]},
                ],
                "channels": self.CHANNELS,
            }
        )
        rows = expand_rows(cfg, N)
        assert [(r.kind, r.channel_label) for r in rows] == [
            ("tokens", "clean"),
            ("image", "lossy"),
            ("image", "lossy"),
            ("image", "clean"),
        ]

    def test_unknown_label_named(self):
        with pytest.raises(CollabInferError, match=r"schemes\.0\.channels: \['dirty'\]"):
            load_config(
                {
                    "name": "c",
                    "schemes": [{"reducer": "full", "channels": ["dirty"]}],
                    "channels": self.CHANNELS,
                }
            )


class TestMatchedUses:
    def test_analog_and_digital_rows_spend_the_same_channel_uses(
        self, tmp_path, fake_vlm, fake_samples
    ):
        # the budget is what the digital link needs for K = 8 fp16: the digital row picks
        # exactly that, and analog fills the same budget with its bandwidth ratio
        coded = {"mcs": 1, "mode": "abstract", "snr_db": 6.0}
        ch = channel.make("coded_phy", **coded)
        budget = float(_uses(ch, _payloads(fake_vlm, fake_samples), 8, "fp16"))
        cfg = load_config(
            {
                "name": "m",
                "budget": {"channel_uses": budget},
                "schemes": [
                    {
                        "label": "digital",
                        "reducer": "kmeans",
                        "budgets": {"k": [1, 2, 4, 8]},
                        "channels": ["coded"],
                    },
                    {
                        "label": "analog",
                        "reducer": "kmeans",
                        "budgets": {"k": [8]},
                        "channels": ["analog"],
                    },
                ],
                "channels": [
                    {"name": "coded_phy", "label": "coded", "params": coded},
                    {"name": "analog", "label": "analog", "params": {"snr_db": 6.0}},
                ],
                "metrics": {"n_boot": 20},
            }
        )
        ims = ImageSet.from_samples(fake_samples)
        run_sweep(cfg, tmp_path, model=fake_vlm, images=ims, progress=False)
        t = ResultsStore(tmp_path).table().set_index("scheme")
        assert t.loc["digital", "k"] == 8
        uses = t["channel_uses"].astype(float)
        assert uses.max() <= budget
        assert abs(uses["analog"] - uses["digital"]) < 0.02 * budget, uses.to_dict()
        ratio = json.loads(t.loc["analog", "channel_params"])["bandwidth_ratio"]
        assert ratio > 0.5  # the analog values are repeated to fill the budget
