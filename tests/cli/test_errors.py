"""Every user mistake of issue #13 -> ``error: ...`` and exit status 2 (one case per
bullet), run in-process with typer's CliRunner; Ctrl-C -> exit 130 saying what was saved.

Each case fails before a model loads (the point of the checks), so the table runs in
seconds; the cases that need a finished sweep use a tiny random PaliGemma.
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from collab_infer.cli import app
from collab_infer.models.default import DEFAULT_MODEL_DIR

runner = CliRunner()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The inputs of the table: images, configs, a damaged checkpoint, a plain file."""
    d = tmp_path_factory.mktemp("errors")
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((24, 24, 3)) * 255).astype(np.uint8)).save(d / "ok.png")
    # a 20000 x 20000 PNG header (400 Mpixel, over PIL's 2 x 89.5 Mpixel bomb limit), 60 bytes
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    (d / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")
    )
    ckpt = d / "truncated_ckpt"
    ckpt.mkdir()
    shutil.copy(DEFAULT_MODEL_DIR / "config.json", ckpt / "config.json")
    weights = (DEFAULT_MODEL_DIR / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(weights[: len(weights) // 3])
    (d / "a_file").write_text("not a folder")
    base = {
        "name": "t",
        "model": {"name": "default"},
        "dataset": {"name": "shapes", "split": "test", "n": 2},
        "schemes": [{"reducer": "full"}],
        "metrics": {"n_boot": 10},
    }
    configs = {
        "ok": base,
        "dataset_name": {**base, "dataset": {"name": "shapez"}},
        "dataset_split": {**base, "dataset": {"split": "tset"}},
        "dataset_option": {**base, "dataset": {"options": {"colour": "red"}}},
        "folder_no_root": {**base, "dataset": {"name": "folder"}},
        "seed_2_64": {**base, "seeds": [2**64]},
        "n_huge": {**base, "dataset": {"n": 100_000_000}},
    }
    for name, cfg in configs.items():
        (d / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    (d / "config_dir").mkdir()
    return d


def _cuda_case():
    if torch.version.cuda is None and torch.version.hip is None:
        return "this torch .* is a CPU-only build; use --device cpu"
    if not torch.cuda.is_available():
        return "torch has CUDA but sees no GPU"
    return None  # a GPU machine: --device cuda is no mistake


# (case id, arguments with {d} for the fixture folder, fragment of the message)
CASES = [
    # tracebacks before (exit 1) -> error: (exit 2)
    ("caption_bomb", "caption {d}/bomb.png", "too large to decode safely: .*decompression bomb"),
    ("show_tokens_bomb", "show-tokens {d}/bomb.png", "too large to decode safely"),
    ("device_bogus", "caption {d}/ok.png --device bogus", "unknown device 'bogus': use cpu, cuda"),
    ("device_cuda", "caption {d}/ok.png --device cuda", "CUDA"),
    ("show_tokens_device", "show-tokens {d}/ok.png --device bogus", "unknown device 'bogus'"),
    (
        "truncated_safetensors",
        "caption {d}/ok.png --model {d}/truncated_ckpt",
        r"model.safetensors is truncated or damaged: \d+ bytes, its header describes \d+",
    ),
    ("sweep_dataset_name", "sweep {d}/dataset_name.yaml", "unknown dataset 'shapez'. Did you mean"),
    ("sweep_dataset_split", "sweep {d}/dataset_split.yaml", "unknown split 'tset' for dataset"),
    (
        "sweep_dataset_option",
        "sweep {d}/dataset_option.yaml",
        r"unknown option\(s\) colour for dataset 'shapes'; valid options: image_size",
    ),
    (
        "sweep_folder_without_root",
        "sweep {d}/folder_no_root.yaml",
        r"dataset 'folder' needs the option\(s\) root",
    ),
    (
        "sweep_out_is_a_file",
        "sweep {d}/ok.yaml --out {d}/a_file",
        "exists and is not a folder .*choose another --out",
    ),
    ("sweep_threads", "sweep {d}/ok.yaml --threads -1", r"--threads must be >= 0 \(0: all cores\)"),
    ("reproduce_threads", "reproduce --threads -1", r"--threads must be >= 0"),
    ("reproduce_out_is_a_file", "reproduce --out {d}/a_file", "exists and is not a folder"),
    ("caption_threads", "caption {d}/ok.png --threads -1", r"--threads must be >= 0"),
    # work lost to a late check -> refused before the first row
    ("seed_2_64", "sweep {d}/seed_2_64.yaml", r"seeds must be < 2\*\*63 .*18446744073709551616"),
    ("dataset_n_huge", "sweep {d}/n_huge.yaml", r"dataset\.n = 100000000 .* need about .* memory"),
    # late or odd channel validation (constructors, before the model loads)
    (
        "erasure_loss_bool",
        "caption {d}/ok.png --channel erasure -p loss=true",
        "loss must be a number, got the bool True",
    ),
    (
        "missing_channel_parameter",
        "caption {d}/ok.png --channel uncoded --snr-db 3",
        r"channel 'uncoded' needs the parameter\(s\) modulation",
    ),
    (
        "gilbert_elliott_overflow",
        "caption {d}/ok.png --channel gilbert_elliott -p loss_rate=0.1 -p mean_burst_length=1e18",
        r"mean_burst_length must lie in \[1, 1e\+12\] packets",
    ),
    (
        "gilbert_elliott_p_bg",
        "caption {d}/ok.png --channel gilbert_elliott -p p_gb=0.1 -p p_bg=1e-300",
        "p_bg must be 0 or >= 1e-12",
    ),
    (
        "uncoded_snr",
        "caption {d}/ok.png --channel uncoded -p modulation=qpsk --snr-db -3090",
        r"snr_db must lie in \[-50, 100\] dB",
    ),
    ("analog_snr", "caption {d}/ok.png --channel analog --snr-db -3090", "snr_db must lie in"),
    (
        "coded_phy_mcs_with_adaptive",
        "caption {d}/ok.png --channel coded_phy -p mcs=3 -p adaptive=true --snr-db 5",
        "mcs=3 contradicts adaptive=True",
    ),
    ("erasure_loss_text", "caption {d}/ok.png --channel erasure -p loss=abc", "got the string"),
    # misleading messages
    ("dev_null_image", "caption /dev/null", "/dev/null is not a regular file .* not an image"),
    ("config_dev_null", "sweep /dev/null", "/dev/null is not a regular file"),
    ("config_is_a_directory", "sweep {d}/config_dir", "config_dir is a directory: pass a YAML"),
    ("config_missing", "sweep {d}/nope.yaml", "nope.yaml does not exist"),
]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_mistake_is_error_exit_2(files, args, fragment):
    if fragment == "CUDA":
        fragment = _cuda_case()
        if fragment is None:
            pytest.skip("a CUDA device is available here")
    result = runner.invoke(app, args.format(d=files).split())
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: "), result.output
    assert _search(fragment, result.output), result.output


def _search(fragment: str, text: str) -> bool:
    import re

    return re.search(fragment, " ".join(text.split())) is not None


class TestHubOffline:
    def test_offline_variable_named_honestly(self, files, monkeypatch):
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        result = runner.invoke(app, ["caption", str(files / "ok.png"), "--model", "bogusname"])
        assert result.exit_code == 2
        assert _search("HF_HUB_OFFLINE=1 is set, so only the cache is searched", result.output)

    def test_unreachable_hub_fails_fast_without_claiming_a_variable(self, files, monkeypatch):
        from collab_infer.models import hub

        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setattr(hub, "hub_unreachable", lambda: "huggingface.co:443: no route")
        result = runner.invoke(app, ["caption", str(files / "ok.png"), "--model", "bogusname"])
        assert result.exit_code == 2
        assert _search(r"the hub cannot be reached \(huggingface.co:443: no route\)", result.output)
        assert "HF_HUB_OFFLINE" not in result.output

    def test_probe_reports_a_refused_connection(self, monkeypatch):
        from collab_infer.models.hub import hub_unreachable

        for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        reason = hub_unreachable("http://127.0.0.1:9", timeout_s=1.0)  # discard port: closed
        assert reason is not None and "127.0.0.1:9" in reason


class TestInterrupt:
    def test_sweep_ctrl_c_says_rows_saved_and_resume(self, files, tmp_path, monkeypatch):
        import experiments.runner
        from experiments.rows import ResultsStore

        def interrupted_run(cfg, out, **kw):
            ResultsStore(out).append([{"row_hash": "a"}, {"row_hash": "b"}])
            kw["on_row"]({"row_hash": "b"})
            raise KeyboardInterrupt

        monkeypatch.setattr(experiments.runner, "run_sweep", interrupted_run)
        out = tmp_path / "run"
        result = runner.invoke(app, ["sweep", str(files / "ok.yaml"), "--out", str(out)])
        assert result.exit_code == 130, result.output
        assert _search(
            r"interrupted: 2 rows saved in .*results.parquet \(1 finished by this run\); rerun "
            "the same command to resume",
            result.output,
        )

    def test_reproduce_ctrl_c(self, tmp_path, monkeypatch):
        import experiments.reproduce

        def interrupted_run(out, **kw):
            raise KeyboardInterrupt

        monkeypatch.setattr(experiments.reproduce, "reproduce", interrupted_run)
        result = runner.invoke(app, ["reproduce", "--out", str(tmp_path / "r"), "--quick"])
        assert result.exit_code == 130, result.output
        assert _search("interrupted: 0 rows saved in .*rerun the same command", result.output)


class TestDamagedStore:
    """A real (tiny) sweep, then a damaged results folder under the same command."""

    @pytest.fixture(scope="class")
    @classmethod
    def done(cls, tmp_path_factory):
        from collab_infer.models.tiny import build_tiny_paligemma

        d = tmp_path_factory.mktemp("sweep")
        ckpt = build_tiny_paligemma(d / "tiny")
        cfg = {
            "name": "t",
            "model": {"name": str(ckpt), "device": "cpu"},
            "dataset": {"name": "shapes", "n": 2},
            "generation": {"max_new_tokens": 3},
            "schemes": [{"reducer": "full"}],
            "metrics": {"n_boot": 10},
        }
        (d / "c.yaml").write_text(yaml.safe_dump(cfg))
        out = d / "out"
        args = ["sweep", str(d / "c.yaml"), "--out", str(out), "--no-plot", "--no-progress"]
        result = runner.invoke(app, [*args, "--threads", "1"])
        assert result.exit_code == 0, result.output
        return d, out, args

    def test_truncated_parquet_recovered_from_csv(self, done, tmp_path):
        d, out, args = done
        work = tmp_path / "out"
        shutil.copytree(out, work)
        data = (work / "results.parquet").read_bytes()
        (work / "results.parquet").write_bytes(data[: len(data) // 2])
        args = [a if a != str(out) else str(work) for a in args]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        # the CLI prints the suite's warnings as plain "warning: ..." lines
        assert _search(
            r"warning: .*results.parquet cannot be read \(ArrowInvalid.*\); rebuilt it from "
            r"results.csv: 1 rows recovered",
            result.output,
        )
        assert _search("0 rows run, 1 already done", result.output)

    def test_table_without_row_hash(self, done, tmp_path):
        import pandas as pd

        d, out, args = done
        work = tmp_path / "out"
        work.mkdir()
        pd.DataFrame({"hash": ["x"]}).to_parquet(work / "results.parquet")
        args = [a if a != str(out) else str(work) for a in args]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert _search(r"error: .*has no 'row_hash' column .*move it", result.output)

    def test_caption_lines_not_utf8_are_counted(self, done, tmp_path):
        from experiments.rows import ResultsStore, ResultsStoreWarning

        d, out, _ = done
        work = tmp_path / "out"
        shutil.copytree(out, work)
        with open(work / "captions.jsonl", "ab") as fh:
            fh.write(b'{"row_hash": "x", "image_id": "y", "caption": "\xff"}\n')
        with pytest.warns(ResultsStoreWarning, match=r"skipped 1 of 3 lines \(1 not UTF-8"):
            caps = ResultsStore(work).captions()
        assert len(caps) == 2 and json.loads(caps.to_json(orient="records"))
