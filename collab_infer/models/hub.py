"""Finding a checkpoint: a local directory or a Hugging Face hub id, with clear errors.

Every failure (missing path, not a checkpoint, wrong architecture, no hub access, unreadable
weights) becomes one :class:`CheckpointError` that says what to do.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from collab_infer.errors import CollabInferError

__all__ = [
    "CheckpointError",
    "Checkpoint",
    "resolve_checkpoint",
    "check_safetensors",
    "hub_unreachable",
    "offline_variable",
    "HUB_HINT",
]

HUB_HINT = (
    "log in (`hf auth login`; gated models such as PaliGemma also need their licence accepted "
    "on the model page), or pass a local checkpoint directory"
)
#: seconds to wait for the hub's host to answer before calling it unreachable
PROBE_TIMEOUT_S = 1.5


class CheckpointError(CollabInferError):
    """A checkpoint could not be found or used; the message says how to fix it."""


@dataclass(frozen=True)
class Checkpoint:
    """A located checkpoint.

    :param source: what ``from_pretrained`` receives (a local directory or a hub id).
    :param local_dir: the directory holding its files (for a hub id: the snapshot in the
        local cache, which must hold ``config.json``).
    :param model_type: ``config.json``'s ``model_type`` (``"paligemma"``, ``"llava"``, ...).
    """

    source: str
    local_dir: Path
    model_type: str


def _looks_like_path(s: str) -> bool:
    return s.startswith((".", "/", "~")) or s.count("/") > 1 or s.endswith("/") or "\\" in s


def resolve_checkpoint(name_or_path: str) -> Checkpoint:
    """Locate ``name_or_path`` (a local directory, else a hub id ``org/name``) and read its
    ``config.json``.

    :raises CheckpointError: missing directory, no ``config.json``, unreadable config, or
        a hub id that cannot be fetched (offline, not logged in, gated, not found).
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(
                f"{path} is a file, not a checkpoint directory: pass the directory that "
                "holds config.json and the weights"
            )
        model_type = _model_type(path / "config.json")
        for weights in sorted(path.glob("*.safetensors")):
            check_safetensors(weights)
        return Checkpoint(str(path), path, model_type)
    if _looks_like_path(name_or_path):
        raise CheckpointError(
            f"checkpoint directory {path} does not exist: check the path, or pass a Hugging "
            "Face hub id such as google/paligemma-3b-pt-224"
        )
    config_file = _hub_config(name_or_path)
    return Checkpoint(name_or_path, config_file.parent, _model_type(config_file))


def check_safetensors(path: Path) -> None:
    """Raise :class:`CheckpointError` unless ``path`` is a complete safetensors file.

    Reads only the header: an 8-byte little-endian length ``L``, ``L`` bytes of JSON
    naming each tensor's ``data_offsets`` ``[begin, end)``; the file must hold exactly
    ``8 + L + max(end)`` bytes (a truncated download or copy has fewer)."""
    size = path.stat().st_size
    fix = "download or copy it again (or retrain / re-save the checkpoint)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < n <= min(size - 8, 100 * 2**20):
                raise ValueError(f"header length {n} does not fit the {size}-byte file")
            header = json.loads(fh.read(n))
        ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"weights file {path} is damaged ({exc}): {fix}") from None
    expected = 8 + n + max(ends, default=0)
    if size != expected:
        raise CheckpointError(
            f"weights file {path} is truncated or damaged: {size} bytes, its header describes "
            f"{expected}; {fix}"
        )


def _model_type(config_file: Path) -> str:
    if not config_file.is_file():
        raise CheckpointError(
            f"{config_file.parent} is not a Hugging Face checkpoint directory (no config.json): "
            "pass the directory written by save_pretrained()"
        )
    try:
        config = json.loads(config_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {config_file}: {exc}") from exc
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if not isinstance(model_type, str):
        raise CheckpointError(f"{config_file} has no 'model_type': not a transformers config")
    return model_type


def offline_variable(names: tuple[str, ...] = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")):
    """The environment variable that puts the Hugging Face hub offline, as ``NAME=value``
    (huggingface_hub reads ``HF_HUB_OFFLINE``, else ``TRANSFORMERS_OFFLINE``), or None."""
    for name in names:
        value = os.environ.get(name)
        if value:
            truthy = value.strip().upper() in ("1", "ON", "YES", "TRUE")
            return f"{name}={value}" if truthy else None
    return None


def hub_unreachable(endpoint: str | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the hub's host cannot be reached within ``timeout_s`` (DNS + TCP connect), or
    None when it answers (or a proxy is configured, which the probe cannot judge).

    A quick probe instead of huggingface_hub's own retries (about 25 s offline)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    if endpoint is None:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    url = urlparse(endpoint)
    host, port = url.hostname or "", url.port or (80 if url.scheme == "http" else 443)
    result: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            result.append(None)
        except OSError as exc:
            result.append(str(exc) or type(exc).__name__)

    thread = threading.Thread(target=probe, daemon=True)  # DNS lookups ignore timeouts
    thread.start()
    thread.join(timeout_s)
    if not result:
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    return None if result[0] is None else f"{host}:{port}: {result[0]}"


def _hub_config(repo_id: str) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    offline = offline_variable()
    unreachable = hub_unreachable() if offline is None else None
    try:  # offline or unreachable: the local cache only (a cached snapshot still loads)
        cache_only = offline is not None or unreachable is not None
        return Path(hf_hub_download(repo_id, "config.json", local_files_only=cache_only))
    except GatedRepoError as exc:
        raise CheckpointError(
            f"{repo_id!r} is a gated model on the Hugging Face hub: accept its licence on "
            f"https://huggingface.co/{repo_id} and log in (`hf auth login`), or pass a local "
            "checkpoint directory"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise CheckpointError(
            f"{repo_id!r} is neither a local directory nor a model on the Hugging Face hub "
            "(or it is private: log in with `hf auth login`)"
        ) from exc
    except HFValidationError as exc:
        raise CheckpointError(
            f"{repo_id!r} is neither an existing directory nor a valid hub id (org/name)"
        ) from exc
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, OSError) as exc:
        where = f"{repo_id!r}: it is not a local directory, nor in the local Hugging Face cache"
        if unreachable is not None:
            why = (
                f"the hub cannot be reached ({unreachable}): check the network, or pass a "
                "local checkpoint directory"
            )
        elif offline is not None:
            name = offline.partition("=")[0]
            why = f"{offline} is set, so only the cache is searched: set {name}=0 and {HUB_HINT}"
        else:
            why = f"the hub did not answer ({exc}): {HUB_HINT}"
        raise CheckpointError(f"cannot load {where}; {why}") from exc
