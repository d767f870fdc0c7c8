"""``collab-infer caption`` and ``collab-infer show-tokens`` on a tiny checkpoint."""

import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from collab_infer.cli import app
from collab_infer.models.default import DEFAULT_MODEL_DIR

runner = CliRunner()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from collab_infer.models.tiny import build_tiny_paligemma

    return str(build_tiny_paligemma(tmp_path_factory.mktemp("tiny_pg")))


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(path)
    return path


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def caption(ckpt, image, *args):
    return run("caption", image, "--model", ckpt, "--threads", 2, "--max-new-tokens", 4, *args)


class TestCaption:
    def test_ideal_link_prints_caption_and_real_payload_size(self, ckpt, image):
        import codec
        from collab_infer import reducers
        from collab_infer.models import load

        result = caption(ckpt, image, "--k", 4, "--number-format", "int8")
        assert result.exit_code == 0, result.output
        assert re.search(r"caption: \S", result.output)
        assert "K=4 of N=16 (K/N = 0.2500)" in result.output
        vlm = load(ckpt, device="cpu")
        tokens = vlm.encode([Image.open(image)])
        payload = reducers.make("kmeans")(tokens, 4, seed=0, grid=vlm.grid)[0]
        n = len(codec.encode(payload, "int8"))
        assert f"{n} bytes = {8 * n} bits (int8" in result.output
        assert re.search(r"\b0 of \d+ packets lost", result.output)

    def test_lossy_link_reports_losses_and_still_captions(self, ckpt, image):
        result = caption(ckpt, image, "--channel", "erasure", "--loss", 0.5, "--mtu", 100)
        assert result.exit_code == 0, result.output
        lost = re.search(r"(\d+) of (\d+) packets lost", result.output)
        assert lost and int(lost.group(2)) > 1
        assert "caption:" in result.output

    def test_analog_link(self, ckpt, image):
        result = caption(ckpt, image, "--channel", "analog", "--snr-db", 5, "--reducer", "random")
        assert result.exit_code == 0, result.output
        assert "value_snr_db" in result.output and "snr_db=5.0" in result.output

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--reducer", "kmean"], "unknown reducer 'kmean'"),
            (["--channel", "wifi"], "unknown channel 'wifi'"),
            (["-p", "loss"], "KEY=VALUE"),
            (["--k", 99], "k must be <= the number of tokens N=16"),
            (["--number-format", "fp12"], "number_format must be one of"),
        ],
    )
    def test_bad_options(self, ckpt, image, args, message):
        result = caption(ckpt, image, *args)
        assert result.exit_code == 2
        assert message in result.output
        assert "Traceback" not in result.output

    def test_missing_image(self, ckpt, tmp_path):
        result = caption(ckpt, tmp_path / "nope.jpg")
        assert result.exit_code == 2
        assert "nope.jpg does not exist" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)

    def test_unreadable_image(self, ckpt, tmp_path):
        bad = tmp_path / "broken.png"
        bad.write_text("not an image")
        result = caption(ckpt, bad)
        assert result.exit_code == 2
        assert "cannot read image" in result.output and "broken.png" in result.output

    def test_default_model(self, image):
        result = run("caption", image, "--threads", 2, "--max-new-tokens", 3)
        if (DEFAULT_MODEL_DIR / "config.json").is_file():
            assert result.exit_code == 0, result.output
            assert "caption:" in result.output
        else:
            assert result.exit_code == 2
            assert "default captioner's config is missing" in result.output


class TestShowTokens:
    def test_writes_the_figure(self, ckpt, image, tmp_path):
        out = tmp_path / "fig" / "tokens.png"
        result = run("show-tokens", image, "--k", 2, 4, 8, "--model", ckpt, "--out", out)
        assert result.exit_code == 0, result.output
        with Image.open(out) as im:
            assert im.format == "PNG" and im.width > im.height > 100
        for k in (2, 4, 8):
            sizes = re.search(rf"K={k}: cluster sizes \[([\d, ]+)\]", result.output).group(1)
            counts = [int(s) for s in sizes.split(",")]
            assert len(counts) == k and sum(counts) == 16

    def test_repeated_k_option(self, ckpt, image, tmp_path):
        out = tmp_path / "t.png"
        result = run("show-tokens", image, "--k", 3, "--k", 5, "--model", ckpt, "-o", out)
        assert result.exit_code == 0, result.output
        assert "K=3:" in result.output and "K=5:" in result.output and out.is_file()

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--k", 2, 99], "1..N=16"),
            (["--k", 2, "x"], "--k takes integers"),
            (["--out", "fig.jpg"], "must be a .png"),
        ],
    )
    def test_bad_arguments(self, ckpt, image, tmp_path, args, message):
        result = run("show-tokens", image, "--model", ckpt, *args)
        assert result.exit_code == 2
        assert message in result.output

    def test_missing_image(self, ckpt, tmp_path):
        result = run("show-tokens", tmp_path / "none.png", "--model", ckpt)
        assert result.exit_code == 2 and "does not exist" in result.output
