"""The sweep runner end to end on a tiny deterministic fake VLM (conftest.FakeVLM)
with the real reducers, codec and channels."""

import math

import pandas as pd
import pytest

from experiments.config import load_config
from experiments.rows import ResultsStore
from experiments.runner import ImageSet, derive_seed, run_sweep

CFG = {
    "name": "t",
    "dataset": {"n": 4},
    "generation": {"batch_size": 8, "max_new_tokens": 8},
    "schemes": [
        {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2, 4]}},
        {"label": "random", "reducer": "random", "budgets": {"k": [4]}},
        {"label": "full", "reducer": "full", "number_formats": ["fp32"]},
        {"kind": "image", "codec": "jpeg", "qualities": [60]},
    ],
    "channels": [{"name": "ideal"}, {"name": "erasure", "sweep": {"loss": [1.0]}}],
    "metrics": {"n_boot": 50},
}


def _run(tmp_path, fake_vlm, fake_samples, cfg=CFG, **kw):
    return run_sweep(
        load_config(cfg),
        tmp_path,
        model=fake_vlm,
        images=ImageSet.from_samples(fake_samples),
        progress=False,
        **kw,
    )


class TestRunner:
    def test_end_to_end(self, tmp_path, fake_vlm, fake_samples):
        s = _run(tmp_path, fake_vlm, fake_samples)
        assert (s.rows_total, s.rows_run, s.rows_skipped) == (10, 10, 0)
        df = ResultsStore(tmp_path).table()
        assert len(df) == 10 and df["row_hash"].is_unique
        assert (tmp_path / "results.csv").exists()
        for col in ("bleu4", "bleu4_lo", "bleu4_hi", "cider_d", "rouge_l", "sacrebleu", "bits"):
            assert df[col].notna().all(), col
        ideal = df[df["channel"] == "ideal"].set_index("scheme")
        # full fp32 tokens over an ideal link: the fake model's exact caption -> BLEU 1
        assert ideal.loc["full", "bleu4"] == pytest.approx(1.0, abs=1e-6)
        assert ideal.loc["full", "k_over_n"] == 1.0
        assert ideal["images_lost"].sum() == 0
        lost = df[df["channel"] == "erasure"]
        assert (lost["images_lost"] == 4).all()
        assert (lost["bleu4"] < 1e-6).all()
        assert (lost["loss"] == 1.0).all()
        # image tokens encoded once for all token rows (4 images, batch 8 -> 1 call),
        # plus one call for the JPEG-decoded images of the ideal row
        assert fake_vlm.encode_calls == 2
        # generation batched: far fewer calls than (row x image) items
        assert fake_vlm.generated == 5 * 4
        assert fake_vlm.generate_calls <= math.ceil(20 / 8) + 5

    def test_bits_are_real_packet_bytes(self, tmp_path, fake_vlm, fake_samples):
        import codec
        from collab_infer import reducers

        _run(tmp_path, fake_vlm, fake_samples)
        df = ResultsStore(tmp_path).table()
        row = df[(df["scheme"] == "kmeans") & (df["k"] == 4) & (df["channel"] == "ideal")].iloc[0]
        tokens = fake_vlm.encode([s.image for s in fake_samples])
        payloads = reducers.get("kmeans")()(
            tokens, 4, seed=derive_seed(0, 0xC0FFEE), grid=fake_vlm.grid
        )
        bits = [
            sum(len(p) for p in codec.packetize(codec.encode(p, "fp16", "auto"), 1400)) * 8
            for p in payloads
        ]
        assert row["bits"] == pytest.approx(sum(bits) / len(bits))
        caps = ResultsStore(tmp_path).captions()
        per_image = caps[caps["row_hash"] == row["row_hash"]]["bits"].tolist()
        assert per_image == bits

    def test_jpeg_bits_are_jpeg_bytes(self, tmp_path, fake_vlm, fake_samples):
        from experiments.jpeg_baseline import encode_image

        _run(tmp_path, fake_vlm, fake_samples)
        df = ResultsStore(tmp_path).table()
        row = df[(df["kind"] == "image") & (df["channel"] == "ideal")].iloc[0]
        sizes = [len(encode_image(s.image, "jpeg", 60)) * 8 for s in fake_samples]
        assert row["bits"] == pytest.approx(sum(sizes) / 4)
        assert row["payload_bytes"] == pytest.approx(sum(sizes) / 32)

    def test_resume_adds_only_missing_rows(self, tmp_path, fake_vlm, fake_samples):
        first = _run(tmp_path, fake_vlm, fake_samples, max_rows=3)
        assert first.rows_run == 3
        before = ResultsStore(tmp_path).table().set_index("row_hash")
        second = _run(tmp_path, fake_vlm, fake_samples)
        assert (second.rows_skipped, second.rows_run) == (3, 7)
        after = ResultsStore(tmp_path).table().set_index("row_hash")
        assert len(after) == 10 and after.index.is_unique
        pd.testing.assert_series_equal(before["date"], after.loc[before.index, "date"])
        third = _run(tmp_path, fake_vlm, fake_samples)
        assert (third.rows_run, third.rows_skipped) == (0, 10)

    def test_other_weights_are_not_taken_for_finished_rows(self, tmp_path, fake_vlm, fake_samples):
        _run(tmp_path, fake_vlm, fake_samples, max_rows=2)
        fake_vlm.describe = lambda: {"name": "fake", "weights": "retrained"}
        again = _run(tmp_path, fake_vlm, fake_samples, max_rows=2)
        assert (again.rows_skipped, again.rows_run) == (0, 2)

    def test_retrained_default_weights_change_the_fingerprint(self, tmp_path, monkeypatch):
        import collab_infer.models.default as default
        from experiments.runner import model_fingerprint

        class Packaged:  # what the built-in model describes: checkpoint "default"
            def describe(self):
                return {"name": "default", "checkpoint": "default", "weights": "pretrained"}

        monkeypatch.setattr(default, "DEFAULT_MODEL_DIR", tmp_path)
        (tmp_path / "model.safetensors").write_bytes(b"weights v1")
        first = model_fingerprint(Packaged())
        assert model_fingerprint(Packaged()) == first
        (tmp_path / "model.safetensors").write_bytes(b"weights v2")
        assert model_fingerprint(Packaged()) != first

    def test_other_images_are_not_taken_for_finished_rows(
        self, tmp_path, fake_vlm, fake_samples, sample_maker
    ):
        _run(tmp_path, fake_vlm, fake_samples, max_rows=2)
        again = _run(tmp_path, fake_vlm, sample_maker(4, seed=1), max_rows=2)
        assert (again.rows_skipped, again.rows_run) == (0, 2)

    def test_interrupt_keeps_finished_rows(self, tmp_path, fake_vlm, fake_samples):
        seen = []

        def stop(row):
            seen.append(row["row_hash"])
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, fake_vlm, fake_samples, on_row=stop)
        store = ResultsStore(tmp_path)
        # the whole first generation group was written before on_row ran
        saved = store.done()
        assert seen[0] in saved and 1 <= len(saved) < 10
        rerun = _run(tmp_path, fake_vlm, fake_samples)
        assert rerun.rows_run == 10 - len(saved)
        assert len(ResultsStore(tmp_path).table()) == 10

    def test_same_config_same_numbers(self, tmp_path, fake_vlm, fake_samples):
        _run(tmp_path / "a", fake_vlm, fake_samples)
        _run(tmp_path / "b", fake_vlm, fake_samples)
        cols = ["row_hash", "bleu4", "bits", "bleu4_lo", "bleu4_hi", "images_lost"]
        a = ResultsStore(tmp_path / "a").table()[cols].sort_values("row_hash")
        b = ResultsStore(tmp_path / "b").table()[cols].sort_values("row_hash")
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))

    def test_analog_and_coded_phy_rows(self, tmp_path, fake_vlm, fake_samples):
        cfg = {
            **CFG,
            "schemes": [{"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [4]}}],
            "channels": [
                {"name": "analog", "sweep": {"snr_db": [40.0, -30.0]}},
                {"name": "coded_phy", "params": {"mcs": 1}, "sweep": {"snr_db": [20.0, -10.0]}},
                {"name": "ideal"},
            ],
        }
        _run(tmp_path, fake_vlm, fake_samples, cfg=cfg)
        df = ResultsStore(tmp_path).table().set_index(["channel", "snr_db"], drop=False)
        ideal = df[df["channel"] == "ideal"].iloc[0]
        clean_analog, noisy_analog = df.loc[("analog", 40.0)], df.loc[("analog", -30.0)]
        assert clean_analog["number_format"] == "analog"
        assert clean_analog["bleu4"] == pytest.approx(ideal["bleu4"], abs=1e-6)
        # the side info (indices, scale) goes over a real coded link: at -30 dB (capacity
        # 0.0014 bit/use, below every MCS) it is lost, and so is every image
        assert noisy_analog["images_lost"] == 4 and noisy_analog["ch_side_lost"] == 1
        assert clean_analog["bits"] < ideal["bits"]  # only side info is digital
        assert clean_analog["ch_analog_symbols"] == 4 * 8 / 2  # K x D values, 2 per symbol
        good, bad = df.loc[("coded_phy", 20.0)], df.loc[("coded_phy", -10.0)]
        assert good["bleu4"] == pytest.approx(ideal["bleu4"], abs=1e-6) and good["images_lost"] == 0
        assert bad["images_lost"] == 4 and bad["bleu4"] < 1e-6  # below the cliff
        assert good["ch_mcs_index"] == 1 and good["bits"] == ideal["bits"]

    def test_identical_tokens_are_captioned_once(self, tmp_path, fake_vlm, fake_samples):
        # the same fp32 payload delivered intact over two links: the same tokens, so one
        # caption per image serves both rows; a lossy link still gets its own captions
        cfg = {
            **CFG,
            "generation": {"batch_size": 4, "max_new_tokens": 8},
            "schemes": [{"label": "full", "reducer": "full", "number_formats": ["fp32"]}],
            "channels": [
                {"name": "ideal"},
                {"name": "erasure", "sweep": {"loss": [0.0, 0.5]}},
            ],
        }
        _run(tmp_path, fake_vlm, fake_samples, cfg=cfg)
        caps = ResultsStore(tmp_path).captions()
        df = ResultsStore(tmp_path).table().set_index("row_hash")
        by_row = {
            (df.loc[h, "channel"], df.loc[h, "loss"]): g.sort_values("image_id")["caption"].tolist()
            for h, g in caps.groupby("row_hash")
        }
        ideal = next(v for (ch, _), v in by_row.items() if ch == "ideal")
        assert by_row[("erasure", 0.0)] == ideal
        live = int((~caps["lost"]).sum())
        lossy_live = live - 8  # the ideal and loss-0 rows: 4 live images each
        assert fake_vlm.generated <= 4 + lossy_live
        assert fake_vlm.generated >= 4

    def test_unknown_reducer_fails_before_running(self, tmp_path, fake_vlm, fake_samples):
        bad = {**CFG, "schemes": [{"reducer": "kmean", "budgets": {"k": [2]}}]}
        with pytest.raises(ValueError, match="kmean"):
            _run(tmp_path, fake_vlm, fake_samples, cfg=bad)
        assert not (tmp_path / "results.parquet").exists()

    def test_unsupported_number_format(self, tmp_path, fake_vlm, fake_samples):
        bad = {**CFG, "schemes": [{"reducer": "full", "number_formats": ["fp12"]}]}
        with pytest.raises(ValueError, match=r"schemes\.0\.number_formats: \['fp12'\]"):
            _run(tmp_path, fake_vlm, fake_samples, cfg=bad)
