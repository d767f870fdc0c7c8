"""``ModelSpec.device_map`` / ``options``: passed on to ``collab_infer.models.load`` by the
local executor and ``reproduce``, and in the row hash only when set."""

import pytest

from experiments.config import ModelSpec, expand_rows, load_config, stable_hash
from experiments.executors.local import LocalExecutor
from experiments.runner import ImageSet

BASE = {
    "name": "m",
    "dataset": {"n": 2},
    "schemes": [{"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2]}}],
    "channels": [{"name": "ideal"}],
    "metrics": {"n_boot": 10},
}


def _cfg(**model):
    return load_config({**BASE, "model": {"name": "default", **model}})


def _hashes(cfg):
    return [r.row_hash for r in expand_rows(cfg, 16, model_id="x", images_id="y")]


class TestModelSpec:
    def test_defaults_and_load_kwargs(self):
        m = ModelSpec()
        assert (m.device_map, m.options) == (None, {})
        assert m.load_kwargs() == {"device": None, "dtype": None, "split": "projector"}
        m = ModelSpec(device_map="auto", options={"image_size": [448, 448]}, dtype="bfloat16")
        assert m.load_kwargs() == {
            "device": None,
            "dtype": "bfloat16",
            "split": "projector",
            "device_map": "auto",
            "image_size": [448, 448],
        }

    @pytest.mark.parametrize("key", ["device", "dtype", "split", "device_map", "name_or_path"])
    def test_load_arguments_are_refused_in_options(self, key):
        with pytest.raises(ValueError, match=rf"set {key} in model itself"):
            ModelSpec(options={key: "x"})

    def test_prompt_is_refused_in_options(self):
        with pytest.raises(ValueError, match=r"generation\.prompt"):
            ModelSpec(options={"prompt": "hi"})

    def test_unknown_field_is_refused(self):
        with pytest.raises(ValueError, match="device_mapp"):
            _cfg(device_mapp="auto")

    def test_cache_key_follows_every_load_argument(self):
        keys = {
            ModelSpec().cache_key(),
            ModelSpec(device_map="auto").cache_key(),
            ModelSpec(options={"image_size": [224, 224]}).cache_key(),
            ModelSpec(options={"image_size": [448, 448]}).cache_key(),
            ModelSpec(dtype="float64").cache_key(),
        }
        assert len(keys) == 5
        assert ModelSpec(options={"a": 1}).cache_key() == ModelSpec(options={"a": 1}).cache_key()


class TestRowHash:
    def test_unset_fields_stay_out_of_the_row_key(self):
        (row,) = expand_rows(_cfg(), 16, model_id="x", images_id="y")
        assert row.model_load == {}
        assert "model_load" not in row.key()
        assert row.row_hash == stable_hash(row.key())

    def test_set_fields_change_the_row_hash(self):
        plain = _hashes(_cfg())
        mapped = _hashes(_cfg(device_map="auto"))
        small = _hashes(_cfg(options={"image_size": [224, 224]}))
        large = _hashes(_cfg(options={"image_size": [448, 448]}))
        assert len({plain[0], mapped[0], small[0], large[0]}) == 4
        (row,) = expand_rows(_cfg(device_map="auto", options={"a": 1}), 16)
        assert row.key()["model_load"] == {"device_map": "auto", "options": {"a": 1}}


class TestLoadCalls:
    def _record(self, monkeypatch, fake_vlm):
        calls = []

        def fake_load(name, **kw):
            calls.append((name, kw))
            return fake_vlm

        monkeypatch.setattr("collab_infer.models.load", fake_load)
        return calls

    def test_local_executor_passes_device_map_and_options(
        self, monkeypatch, fake_vlm, fake_samples
    ):
        calls = self._record(monkeypatch, fake_vlm)
        ex = LocalExecutor()
        images = ImageSet.from_samples(fake_samples[:2])
        ex.open(_cfg(device_map="auto", options={"image_size": [64, 64]}), images)
        assert calls == [
            (
                "default",
                {
                    "device": None,
                    "dtype": None,
                    "split": "projector",
                    "device_map": "auto",
                    "image_size": [64, 64],
                },
            )
        ]
        ex.open(_cfg(device_map="auto", options={"image_size": [64, 64]}), images)
        assert len(calls) == 1  # same spec: the loaded model is reused
        ex.open(_cfg(options={"image_size": [32, 32]}), images)
        assert len(calls) == 2 and calls[1][1]["image_size"] == [32, 32]
        assert "device_map" not in calls[1][1]

    def test_reproduce_passes_them_too(self, monkeypatch, fake_vlm, fake_samples, tmp_path):
        from experiments import reproduce

        calls = self._record(monkeypatch, fake_vlm)
        cfg = _cfg(options={"image_size": [64, 64]})
        reproduce.reproduce(
            tmp_path,
            configs=[cfg],
            images=ImageSet.from_samples(fake_samples[:2]),
            progress=False,
            log=lambda *a, **k: None,
        )
        assert [c[1].get("image_size") for c in calls] == [[64, 64]]
