"""Model fingerprints that see the weights: full-file SHA-256, cached by size + mtime,
hub ids by metadata or local cache, and sweeps that recompute rows after a rebuild."""

import hashlib
import json
import os
import shutil
import time
from types import SimpleNamespace

import pytest

from collab_infer.models import fingerprint as fp
from collab_infer.models.hub import CheckpointError

OLD = time.time() - 3600  # an mtime well before any digest (not "racy")


def _write(path, data, mtime=OLD):
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


class TestFileDigest:
    def test_full_file_sha256_cached_beside(self, tmp_path):
        f = _write(tmp_path / "model.safetensors", b"x" * 3_000_000)
        assert fp.file_sha256(f) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
        cache = json.loads((tmp_path / fp.CACHE_NAME).read_text())
        assert cache["model.safetensors"]["size"] == 3_000_000
        # a second call reads the cache (a planted digest comes back) ...
        cache["model.safetensors"]["sha256"] = "planted"
        (tmp_path / fp.CACHE_NAME).write_text(json.dumps(cache))
        assert fp.file_sha256(f) == "planted"
        # ... until the file is rewritten with other bytes of the same size
        _write(f, b"y" * 3_000_000, mtime=OLD + 10)
        assert fp.file_sha256(f) == hashlib.sha256(b"y" * 3_000_000).hexdigest()

    def test_a_fresh_file_is_rehashed_even_with_the_same_mtime(self, tmp_path):
        f = tmp_path / "w.bin"
        f.write_bytes(b"v1")
        now = time.time()
        os.utime(f, (now, now))
        first = fp.file_sha256(f)
        f.write_bytes(b"v2")
        os.utime(f, (now, now))  # same size, same mtime: a rewrite within one clock tick
        assert fp.file_sha256(f) != first

    def test_read_only_folder_uses_the_user_cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        ckpt = tmp_path / "ckpt"
        ckpt.mkdir()
        f = _write(ckpt / "model.safetensors", b"abc")
        real_write = fp._write_cache

        def refuse_beside(path, data):
            return False if path.parent == ckpt else real_write(path, data)

        monkeypatch.setattr(fp, "_write_cache", refuse_beside)
        assert fp.file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
        assert not (ckpt / fp.CACHE_NAME).exists()
        [user] = (tmp_path / "cache" / "collab_infer" / "sha256").iterdir()
        assert "model.safetensors" in json.loads(user.read_text())

    def test_directory_lists_weight_files_only(self, tmp_path):
        _write(tmp_path / "b.safetensors", b"1")
        _write(tmp_path / "a.bin", b"2")
        _write(tmp_path / "config.json", b"{}")
        assert list(fp.directory_weights(tmp_path)) == ["a.bin", "b.safetensors"]

    def test_unreadable_file(self, tmp_path):
        with pytest.raises(CheckpointError, match="cannot read weight file"):
            fp.file_sha256(tmp_path / "absent.safetensors")


class TestHubIds:
    def test_online_uses_the_hub_metadata(self, monkeypatch):
        import huggingface_hub
        from huggingface_hub import constants

        siblings = [
            SimpleNamespace(rfilename="model.safetensors", lfs=SimpleNamespace(sha256="ab" * 32)),
            SimpleNamespace(rfilename="config.json", lfs=None),
        ]

        class Api:
            def model_info(self, repo_id, revision=None, files_metadata=False):
                assert files_metadata
                return SimpleNamespace(siblings=siblings)

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(huggingface_hub, "HfApi", Api)
        assert fp.hub_weights("org/model") == {"model.safetensors": "ab" * 32}

    def test_offline_digests_the_local_snapshot(self, tmp_path, monkeypatch):
        import huggingface_hub
        from huggingface_hub import constants

        _write(tmp_path / "config.json", b"{}")
        _write(tmp_path / "model.safetensors", b"weights")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setattr(
            huggingface_hub, "try_to_load_from_cache", lambda *a, **k: str(tmp_path / "config.json")
        )
        digest = hashlib.sha256(b"weights").hexdigest()
        assert fp.hub_weights("org/model") == {"model.safetensors": digest}
        model = SimpleNamespace(describe=lambda: {"name": "x", "checkpoint": "org/model"})
        assert fp.model_identity(model)["weights_sha256"] == {"model.safetensors": digest}

    def test_offline_and_not_cached(self, monkeypatch):
        import huggingface_hub
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
        with pytest.raises(CheckpointError, match="no snapshot of it"):
            fp.hub_weights("org/model")


class TestSweepsSeeTheWeights:
    def test_rebuilt_checkpoint_recomputes_rows(self, tmp_path, tiny_paligemma_dir):
        import torch

        from collab_infer import datasets
        from collab_infer.models import load
        from collab_infer.models.tiny import build_tiny_paligemma
        from experiments.config import load_config
        from experiments.runner import ImageSet, run_sweep

        torch.set_num_threads(1)
        ckpt = tmp_path / "ckpt"
        shutil.copytree(tiny_paligemma_dir, ckpt)
        cfg = load_config(
            {
                "name": "fp",
                "dataset": {"n": 2},
                "generation": {"batch_size": 4, "max_new_tokens": 3},
                "schemes": [{"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2]}}],
                "channels": [{"name": "ideal"}],
                "metrics": {"n_boot": 10},
            }
        )
        images = ImageSet.from_samples(datasets.load("shapes", n=2))
        out = tmp_path / "out"

        def sweep():
            vlm = load(f"paligemma:{ckpt}", device="cpu")
            return run_sweep(cfg, out, model=vlm, images=images, progress=False)

        first = sweep()
        assert first.rows_run == first.rows_total >= 1
        assert sweep().rows_skipped == first.rows_total  # same weights: rows reused
        size = (ckpt / "model.safetensors").stat().st_size
        build_tiny_paligemma(ckpt, seed=1)  # other weights, same shapes and file size
        assert (ckpt / "model.safetensors").stat().st_size == size
        again = sweep()
        assert (again.rows_run, again.rows_skipped) == (first.rows_total, 0)
