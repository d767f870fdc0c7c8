"""What identifies a model's numbers: its description plus a SHA-256 of every weight file.

A sweep reuses finished rows only when the model is the same, so the identity must change
whenever a single weight changes, for checkpoints of any size:

- every weight file (``*.safetensors``, ``*.bin``, ``*.pt``, ``*.pth``) is digested in full
  by a streaming SHA-256 (1 MiB reads, constant memory);
- each digest is cached, keyed by the file's size and modification time (ns), in
  ``.collab_infer_sha256.json`` beside the file, or, where that folder is read-only, in
  ``$XDG_CACHE_HOME/collab_infer/sha256/`` (default ``~/.cache``): a 10 GB checkpoint is read
  once, later fingerprints cost a ``stat``; rewriting a file (same size or not) changes its
  mtime and so recomputes. As in git's "racy" check, a digest taken less than
  ``RACY_S`` = 2 s after the file's mtime is never reused (file timestamps are coarse: a
  rewrite within the same clock tick would keep the mtime);
- a hub id is resolved to its files: online, the hub's metadata for the revision gives
  each LFS file's SHA-256 without downloading anything; offline (``HF_HUB_OFFLINE=1``, or
  the hub unreachable), the snapshot in the local Hugging Face cache is digested as above.
  Both give the same values (the hub's ``lfs.sha256`` is the SHA-256 of the content).

>>> identity = model_identity(vlm)  # doctest: +SKIP
>>> identity["weights_sha256"]  # doctest: +SKIP
{'model.safetensors': '3f2a...'}
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from collab_infer.models.hub import CheckpointError

__all__ = [
    "WEIGHT_SUFFIXES",
    "CACHE_NAME",
    "file_sha256",
    "directory_weights",
    "hub_weights",
    "model_identity",
]

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
CACHE_NAME = ".collab_infer_sha256.json"
_CHUNK = 1 << 20
RACY_S = 2.0


def _user_cache_file(folder: Path) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:32]
    return root / "collab_infer" / "sha256" / f"{key}.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, Any]) -> bool:
    """Write atomically (temp file + rename); False when the folder is not writable."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def file_sha256(path: str | Path, *, cache_beside: bool = True) -> str:
    """SHA-256 (hex) of the whole file at ``path`` (symlinks followed), cached by size + mtime.

    :param cache_beside: False: keep the cache in the user's cache folder only (for the
        packaged default model, inside the source tree / site-packages).

    :raises CheckpointError: the file cannot be read.
    """
    real = Path(path).resolve()
    try:
        st = real.stat()
    except OSError as exc:
        raise CheckpointError(f"cannot read weight file {path}: {exc}") from exc
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    caches = [real.parent / CACHE_NAME] if cache_beside else []
    caches.append(_user_cache_file(real.parent))
    for cache in caches:
        entry = _read_cache(cache).get(real.name)
        if (
            isinstance(entry, dict)
            and all(entry.get(k) == v for k, v in key.items())
            and int(entry.get("hashed_at_ns", 0)) - st.st_mtime_ns > RACY_S * 1e9
        ):
            return str(entry["sha256"])
    hashed_at_ns = time.time_ns()
    digest = hashlib.sha256()
    try:
        with real.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise CheckpointError(f"cannot read weight file {path}: {exc}") from exc
    hexdigest = digest.hexdigest()
    for cache in caches:  # beside the file, else the user's cache
        data = _read_cache(cache)
        data[real.name] = {**key, "hashed_at_ns": hashed_at_ns, "sha256": hexdigest}
        if _write_cache(cache, data):
            break
    return hexdigest


def directory_weights(directory: str | Path, *, cache_beside: bool = True) -> dict[str, str]:
    """``{file name: SHA-256}`` of every weight file directly in ``directory`` (sorted)."""
    folder = Path(directory)
    files = sorted(
        p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and not p.name.startswith(".")
    )
    return {p.name: file_sha256(p, cache_beside=cache_beside) for p in files}


def hub_weights(repo_id: str, *, revision: str | None = None) -> dict[str, str]:
    """``{file name: SHA-256}`` of the weight files of hub model ``repo_id``.

    Online: from the hub's file metadata (nothing is downloaded). Offline or unreachable:
    from the snapshot in the local cache (the files ``from_pretrained`` loads there).

    :raises CheckpointError: neither the hub nor the local cache knows the model.
    """
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        try:
            from huggingface_hub import HfApi

            info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
            found = {
                s.rfilename: s.lfs.sha256
                for s in info.siblings or []
                if Path(s.rfilename).suffix in WEIGHT_SUFFIXES and s.lfs is not None
            }
            if found:
                return dict(sorted(found.items()))
        except Exception:  # any hub failure: the local cache decides below
            pass
    return directory_weights(_local_snapshot(repo_id, revision))


def _local_snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if not isinstance(config, str):
        raise CheckpointError(
            f"cannot fingerprint {repo_id!r}: the hub is unreachable and the local Hugging Face "
            "cache has no snapshot of it; download it once (`hf download "
            f"{repo_id}`) or pass a local checkpoint directory"
        )
    return Path(config).parent


def model_identity(model: Any) -> dict[str, Any]:
    """``model.describe()`` without the device and the checkpoint's path, plus
    ``weights_sha256`` (``{file: SHA-256}``) for a checkpoint directory, a hub id or the
    built-in model's packaged folder; what a sweep's ``model_id`` hashes."""
    desc = dict(model.describe())
    desc.pop("device", None)
    ckpt = desc.pop("checkpoint", None)
    packaged = ckpt == "default"
    if packaged:  # the packaged weights: retrained ones must not match old rows
        from collab_infer.models.default import DEFAULT_MODEL_DIR

        ckpt = DEFAULT_MODEL_DIR
    if ckpt is None:
        return desc
    path = Path(str(ckpt)).expanduser()
    if path.is_dir():
        desc["weights_sha256"] = directory_weights(path, cache_beside=not packaged)
    elif not path.exists() and "/" in str(ckpt) and not str(ckpt).startswith((".", "/", "~")):
        desc["weights_sha256"] = hub_weights(str(ckpt))
    return desc
