"""Model loading: names, auto-detection, the default captioner, and the errors."""

import json
import shutil

import pytest
import torch

from collab_infer.errors import CollabInferError
from collab_infer.models import MODELS, CheckpointError, load
from collab_infer.models.default import DEFAULT_MODEL_DIR, DefaultCaptioner


class TestLoadErrors:
    def test_missing_directory(self, tmp_path):
        with pytest.raises(CheckpointError, match="does not exist"):
            load(str(tmp_path / "nope" / "model"))

    def test_directory_without_config(self, tmp_path):
        with pytest.raises(CheckpointError, match="no config.json"):
            load(str(tmp_path))

    def test_file_instead_of_directory(self, tmp_path):
        f = tmp_path / "weights.bin"
        f.write_bytes(b"x")
        with pytest.raises(CheckpointError, match="is a file"):
            load(str(f))

    def test_unsupported_architecture(self, tmp_path):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
        with pytest.raises(CheckpointError, match="'bert' checkpoint; supported architectures"):
            load(str(tmp_path))

    def test_wrong_architecture_for_the_adapter(self, tiny_llava_dir):
        with pytest.raises(CheckpointError, match="'llava' checkpoint, not 'paligemma'"):
            load(f"paligemma:{tiny_llava_dir}")

    def test_hub_id_without_hub_access(self, monkeypatch):
        # tests run with HF_HUB_OFFLINE=1 (tests/conftest.py)
        with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE=0 and log in"):
            load("google/paligemma-3b-pt-224")
        with pytest.raises(CheckpointError, match="or pass a local checkpoint directory"):
            load("paligemma")

    def test_unknown_adapter(self):
        with pytest.raises(ValueError, match="Did you mean 'paligemma'"):
            load("paligema:some/dir")

    def test_bad_split_and_dtype(self, tiny_paligemma_dir):
        with pytest.raises(ValueError, match="split must be one of"):
            load(str(tiny_paligemma_dir), split="llm")
        with pytest.raises(ValueError, match="dtype must be"):
            load(str(tiny_paligemma_dir), dtype="float8")

    def test_missing_preprocessor_config(self, tiny_paligemma_dir, tmp_path):
        d = tmp_path / "ckpt"
        shutil.copytree(tiny_paligemma_dir, d)
        (d / "preprocessor_config.json").unlink()
        with pytest.raises(CheckpointError, match="preprocessor_config.json is missing"):
            load(str(d))

    def test_errors_are_collab_infer_errors(self):
        assert issubclass(CheckpointError, CollabInferError)


class TestNames:
    def test_registry(self):
        assert {"default", "llava", "paligemma", "qwen2_5_vl"} <= set(MODELS.names())

    def test_default_takes_no_options(self):
        with pytest.raises(ValueError, match="default model takes no options"):
            load("default", image_size=32)

    def test_directory_picks_the_adapter(self, tiny_paligemma_dir):
        vlm = load(str(tiny_paligemma_dir), device="cpu")
        assert vlm.describe()["adapter"] == "paligemma"
        assert vlm.name == f"paligemma:{tiny_paligemma_dir}"
        assert vlm.describe()["dtype"] == "float32"  # CPU default


class TestDefaultCaptioner:
    def test_random_init_when_weights_are_absent(self, tiny_paligemma_dir, tmp_path, images):
        d = tmp_path / "default_model"
        shutil.copytree(tiny_paligemma_dir, d)
        (d / "model.safetensors").unlink()
        a = DefaultCaptioner.from_pretrained(d, device="cpu")
        b = DefaultCaptioner.from_pretrained(d, device="cpu")
        assert a.describe()["weights"] == "random-init"
        assert a.prompt == "caption en"
        ta, tb = a.encode(images[:2]), b.encode(images[:2])
        torch.testing.assert_close(ta, tb, rtol=0, atol=0)  # seeded initialisation
        assert len(a.generate(list(ta), max_new_tokens=3)) == 2

    def test_minimal_preprocessor_format(self, tiny_paligemma_dir, tmp_path, images):
        d = tmp_path / "default_model"
        shutil.copytree(tiny_paligemma_dir, d)
        (d / "preprocessor_config.json").write_text(
            json.dumps({"image_size": 32, "image_mean": [0.5] * 3, "image_std": [0.5] * 3})
        )
        vlm = DefaultCaptioner.from_pretrained(d, device="cpu")
        assert vlm.describe()["weights"] == "random-init"  # the tiny builder's marker
        assert vlm.pixel_values(images[:1]).shape == (1, 3, 32, 32)
        assert vlm.encode(images[:1]).shape == (1, 16, 64)

    def test_missing_default_directory(self, tmp_path):
        with pytest.raises(CheckpointError, match="default captioner's config is missing"):
            DefaultCaptioner.from_pretrained(tmp_path / "absent")

    def test_preprocessing_matches_the_training_pipeline(self, tiny_paligemma_dir, tmp_path):
        from collab_infer.datasets.shapes import render
        from collab_infer.training.batches import pixels_from_uint8
        from collab_infer.training.checkpoint import preprocessor_config

        d = tmp_path / "default_model"
        shutil.copytree(tiny_paligemma_dir, d)
        (d / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(32)))
        vlm = DefaultCaptioner.from_pretrained(d, device="cpu")
        batch = render("test", [0, 1, 2], seed=0, size=32)
        from PIL import Image

        ours = vlm.pixel_values([Image.fromarray(a) for a in batch.images])
        torch.testing.assert_close(ours, pixels_from_uint8(batch.images), rtol=0, atol=1e-6)

    @pytest.mark.skipif(
        not (DEFAULT_MODEL_DIR / "config.json").is_file(), reason="default model not packaged"
    )
    def test_packaged_default_model_matches_training_greedy_decoding(self):
        from PIL import Image

        from collab_infer.datasets.shapes import render
        from collab_infer.training.batches import CaptionLayout
        from collab_infer.training.greedy import caption_uint8

        vlm = load("default", device="cpu")
        assert vlm.name == "default" and vlm.prompt == "caption en"
        batch = render("test", [0, 1, 2, 3], seed=0, size=vlm.model.config.vision_config.image_size)
        tokens = vlm.encode([Image.fromarray(a) for a in batch.images])
        assert tokens.shape == (4, vlm.n_tokens, vlm.dim)
        ours = vlm.generate(list(tokens), max_new_tokens=20)
        layout = CaptionLayout.from_tokenizer(vlm.tokenizer)
        ref = caption_uint8(vlm.model, vlm.tokenizer, layout, batch.images, max_new_tokens=20)
        assert ours == ref


class TestTinyWeights:
    def test_init_std_scales_with_the_layer_width(self, tiny_paligemma_dir):
        from safetensors.torch import load_file

        from collab_infer.models.tiny import INIT_GAIN

        weights = load_file(str(tiny_paligemma_dir / "model.safetensors"))
        seen = 0
        for name, w in weights.items():
            if w.ndim == 2 and w.shape[1] >= 32 and "norm" not in name:
                expected = INIT_GAIN / w.shape[1] ** 0.5
                assert abs(w.std().item() / expected - 1) < 0.15, name  # >= 1024 draws each
                seen += 1
        assert seen >= 10
        marker = json.loads((tiny_paligemma_dir / "collab_infer_weights.json").read_text())
        assert marker["weights"] == "random-init"


class TestQuietLoading:
    def test_no_progress_bar_when_stderr_is_not_a_terminal(self, tiny_paligemma_dir, capfd):
        from transformers.utils import logging as hf_logging

        was = hf_logging.is_progress_bar_enabled()  # other tests' CLI runs may turn it off
        hf_logging.enable_progress_bar()
        try:
            load(f"paligemma:{tiny_paligemma_dir}", device="cpu")
            err = capfd.readouterr().err
            assert "Loading weights" not in err and "it/s]" not in err
            assert hf_logging.is_progress_bar_enabled()  # restored afterwards
        finally:
            if not was:
                hf_logging.disable_progress_bar()


FAMILIES = [
    "qwen2_5_vl",
    "qwen2_vl",
    "qwen3_vl",
    "gemma3",
    "smolvlm",
    "internvl",
    "llava_onevision",
]


class TestFamilyErrors:
    @pytest.mark.parametrize("family", FAMILIES)
    def test_wrong_architecture(self, family, tiny_paligemma_dir):
        with pytest.raises(CheckpointError, match=f"is a 'paligemma' checkpoint, not '{family}'"):
            load(f"{family}:{tiny_paligemma_dir}", device="cpu")

    @pytest.mark.parametrize("family", FAMILIES)
    def test_missing_directory(self, family, tmp_path):
        with pytest.raises(CheckpointError, match="does not exist"):
            load(f"{family}:{tmp_path / 'absent' / 'ckpt'}", device="cpu")

    @pytest.mark.parametrize("family", FAMILIES)
    def test_registered_with_a_reference_checkpoint(self, family):
        from collab_infer.models import _DEFAULT_SOURCES

        assert family in MODELS.names() and "/" in _DEFAULT_SOURCES[family]
