"""A dry check of dataset arguments: everything :func:`collab_infer.datasets.load` would
refuse, found without reading or rendering a single image (so a sweep fails before its
model loads).

Checked: the dataset name (did-you-mean), the split (datasets whose module defines
``SPLITS``), unknown and missing options (against the constructor's signature), path
options that do not exist, and the memory a generated dataset of ``n`` images needs
(``shapes``: ``n * (size^2 * 3 + overhead)`` bytes, since a sweep holds every image)
against the memory available.

>>> check("shapes", split="test", n=8)
>>> try:
...     check("shapes", split="tset")
... except ValueError as exc:
...     print(exc)
unknown split 'tset' for dataset 'shapes'; valid: train, val, test, test_heldout
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["check", "available_memory_bytes", "IMAGE_OVERHEAD_BYTES"]

#: bytes per held image beyond its pixels (PIL object, Sample, reference strings)
IMAGE_OVERHEAD_BYTES = 2048
#: a dataset may take at most this share of the available memory
MEMORY_SHARE = 0.5
#: options naming a directory / a file that must exist
_DIR_OPTIONS = ("root", "image_root")
_FILE_OPTIONS = ("annotations",)


def check(name: Any, *, split: str = "test", n: int | None = None, seed: int = 0, **options):
    """Raise :class:`CollabInferError` for anything ``datasets.load(name, split=split, n=n,
    seed=seed, **options)`` would refuse; return None when it looks loadable.

    Files are not read (a malformed captions file is still found only on load)."""
    from collab_infer.datasets import DATASETS

    try:
        cls = DATASETS.get(name)
    except (TypeError, ValueError) as exc:
        raise CollabInferError(str(exc)) from None
    sig = inspect.signature(cls).parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.values())
    takes = [p for p in sig if p not in ("split", "n", "seed")]
    unknown = sorted(set(options) - set(takes))
    if unknown and not var_kw:
        raise CollabInferError(
            f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; valid options: "
            f"{', '.join(takes) or '(none)'}"
        )
    missing = [
        p.name
        for p in sig.values()
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in options
        and p.name not in ("split", "n", "seed")
    ]
    if missing:
        example = ", ".join(f"{m}: ..." for m in missing)
        raise CollabInferError(
            f"dataset {name!r} needs the option(s) {', '.join(missing)} "
            f"(in a sweep config: dataset: {{name: {name}, options: {{{example}}}}})"
        )
    splits = getattr(inspect.getmodule(cls), "SPLITS", None)
    if splits is not None and split not in splits:
        raise CollabInferError(
            f"unknown split {split!r} for dataset {name!r}; valid: {', '.join(splits)}"
        )
    for key in _DIR_OPTIONS + _FILE_OPTIONS:
        value = options.get(key)
        if value is None or key not in takes:
            continue
        path = Path(str(value)).expanduser()
        if key in _DIR_OPTIONS and not path.is_dir():
            what = "is not a directory" if path.exists() else "does not exist"
            raise CollabInferError(f"dataset {name!r}: {key} {path} {what}")
        if key in _FILE_OPTIONS and not path.is_file():
            raise CollabInferError(f"dataset {name!r}: {key} file {path} does not exist")
    hook = getattr(cls, "dry_check", None)
    if hook is not None:
        hook(**options)
    if "n" in sig and "seed" in sig:  # generated in memory: n images of image_size^2 pixels
        _check_memory(name, n, sig, options)


def _check_memory(name: str, n: int | None, sig, options: dict[str, Any]) -> None:
    size = options.get("image_size", sig["image_size"].default if "image_size" in sig else 64)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise CollabInferError(f"dataset {name!r}: image_size must be a positive int, got {size!r}")
    if n is None:
        return
    per_image = size * size * 3 + IMAGE_OVERHEAD_BYTES
    need = int(n) * per_image
    avail = available_memory_bytes()
    if avail is not None and need > MEMORY_SHARE * avail:
        most = max(1, int(MEMORY_SHARE * avail // per_image))
        raise CollabInferError(
            f"dataset.n = {n} {name} images of {size}x{size} pixels need about "
            f"{_human(need)} of memory (a sweep holds every image, about {_human(per_image)} "
            f"each), more than half of the {_human(avail)} available: lower dataset.n (at most "
            f"about {most} here), or run the images in several sweeps"
        )


def available_memory_bytes() -> int | None:
    """Memory available to new allocations (Linux ``MemAvailable``, else free physical
    pages), or None where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"
