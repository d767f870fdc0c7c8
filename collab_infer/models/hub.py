"""Finding a checkpoint: a local directory or a Hugging Face hub id, with clear errors.

Every failure (missing path, not a checkpoint, wrong architecture, no hub access, unreadable
weights) becomes one :class:`CheckpointError` that says what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from collab_infer.errors import CollabInferError

__all__ = ["CheckpointError", "Checkpoint", "resolve_checkpoint", "HUB_HINT"]

HUB_HINT = (
    "set HF_HUB_OFFLINE=0 and log in (`hf auth login`; gated models such as PaliGemma also need "
    "their licence accepted on the model page), or pass a local checkpoint directory"
)


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
        return Checkpoint(str(path), path, _model_type(path / "config.json"))
    if _looks_like_path(name_or_path):
        raise CheckpointError(
            f"checkpoint directory {path} does not exist: check the path, or pass a Hugging "
            "Face hub id such as google/paligemma-3b-pt-224"
        )
    config_file = _hub_config(name_or_path)
    return Checkpoint(name_or_path, config_file.parent, _model_type(config_file))


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


def _hub_config(repo_id: str) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    try:
        return Path(hf_hub_download(repo_id, "config.json"))
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
        raise CheckpointError(
            f"cannot load {repo_id!r}: it is not a local directory and it is not in the local "
            f"cache, and the Hugging Face hub cannot be reached: {HUB_HINT}"
        ) from exc
