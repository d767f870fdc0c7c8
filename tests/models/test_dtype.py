"""``dtype=`` at load (weights loaded directly in it) and ``--dtype`` on the CLI."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from collab_infer.models import load


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(path)
    return path


class TestDtype:
    @pytest.mark.parametrize(("name", "dtype"), [("bf16", torch.bfloat16), ("fp32", torch.float32)])
    def test_weights_are_loaded_in_the_dtype(self, tiny_paligemma_dir, name, dtype):
        vlm = load(f"paligemma:{tiny_paligemma_dir}", device="cpu", dtype=name)
        assert {p.dtype for p in vlm.model.parameters()} == {dtype}
        assert vlm.describe()["dtype"] == str(dtype).removeprefix("torch.")

    def test_bad_dtype(self, tiny_paligemma_dir):
        with pytest.raises(ValueError, match="dtype must be a torch.dtype or one of"):
            load(f"paligemma:{tiny_paligemma_dir}", device="cpu", dtype="int3")

    @pytest.mark.parametrize("command", ["caption", "show-tokens"])
    def test_cli_dtype_reaches_the_model(
        self, tiny_paligemma_dir, image_file, tmp_path, monkeypatch, command
    ):
        import collab_infer.models as models
        from collab_infer.cli import app

        seen = []
        real_load = models.load

        def spy(*args, **kwargs):
            vlm = real_load(*args, **kwargs)
            seen.append(vlm.dtype)
            return vlm

        monkeypatch.setattr(models, "load", spy)
        extra = ["--max-new-tokens", "2"] if command == "caption" else ["--out", tmp_path / "t.png"]
        args = [command, image_file, "--model", tiny_paligemma_dir, "--threads", 1, "--k", 2]
        result = CliRunner().invoke(app, [str(a) for a in [*args, *extra, "--dtype", "bf16"]])
        assert result.exit_code == 0, result.output
        assert seen == [torch.bfloat16]
        bad = CliRunner().invoke(app, [str(a) for a in [*args, *extra, "--dtype", "int3"]])
        assert bad.exit_code != 0 and "dtype must be" in bad.output


class TestDeviceMap:
    def test_device_map_without_accelerate_says_what_to_install(
        self, tiny_paligemma_dir, monkeypatch
    ):
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda n, *a: None if n == "accelerate" else real(n, *a)
        )
        with pytest.raises(ValueError, match=r"device_map needs the accelerate package"):
            load(f"paligemma:{tiny_paligemma_dir}", device_map="auto")

    @pytest.mark.skipif(
        __import__("importlib").util.find_spec("accelerate") is None,
        reason="accelerate not installed",
    )
    def test_device_map_places_the_model(self, tiny_paligemma_dir):
        vlm = load(f"paligemma:{tiny_paligemma_dir}", device_map="cpu")
        assert vlm.describe()["device"] == "cpu"
