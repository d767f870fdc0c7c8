"""``--set key=value`` overrides of a sweep config, applied to its YAML mapping before
validation (so a config whose paths only exist on the user's machine can be completed on
the command line).

``key`` is a dotted path into the mapping (``dataset.options.root``); an integer segment
indexes a list (``schemes.0.budgets.k``); missing mappings on the way are created.
``value`` is read as YAML (``256`` an int, ``true`` a bool, ``[1, 2]`` a list, ``null``
None, anything else a string).

>>> apply_overrides({"dataset": {"n": 4}}, ["dataset.n=256", "dataset.options.root=/data/coco"])
{'dataset': {'n': 256, 'options': {'root': '/data/coco'}}}
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["apply_overrides", "parse_override"]


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b=value"`` -> ``(["a", "b"], value read as YAML)``."""
    import yaml

    key, sep, raw = str(text).partition("=")
    key = key.strip()
    if not sep or not key:
        raise CollabInferError(
            f"--set {text!r}: expected KEY=VALUE with a dotted KEY, e.g. "
            "--set dataset.options.root=/data/coco"
        )
    parts = key.split(".")
    if any(not p for p in parts):
        raise CollabInferError(f"--set {text!r}: empty segment in key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise CollabInferError(f"--set {text!r}: the value is not valid YAML ({exc})") from None
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``KEY=VALUE`` of ``overrides`` set, in order.

    :raises CollabInferError: a malformed override, or a key that runs through a value
        that is neither a mapping nor a list (or past a list's end)
    """
    if isinstance(overrides, str):
        raise TypeError("overrides must be a list of KEY=VALUE strings, got a single str")
    out = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise CollabInferError(
                        f"--set {text!r}: {where} indexes a list of {len(node)} item(s); use "
                        f"0..{len(node) - 1}"
                    )
                idx: Any = int(part)
            elif isinstance(node, dict):
                idx = part
            else:
                raise CollabInferError(
                    f"--set {text!r}: {'.'.join(parts[:i])} is {node!r}, not a mapping"
                )
            if last:
                node[idx] = value
            else:
                if isinstance(node, dict) and (idx not in node or node[idx] is None):
                    node[idx] = {}
                node = node[idx]
    return out
