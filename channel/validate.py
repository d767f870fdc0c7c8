"""Parameter checks shared by the channel models (ValueError naming the parameter)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "check_finite",
    "check_non_negative",
    "check_positive",
    "check_probability",
    "check_one_of",
    "check_seed",
    "check_packets",
]


def check_finite(name: str, value: Any) -> float:
    """``value`` as a finite float, or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars, 0-d tensors
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def check_non_negative(name: str, value: Any) -> float:
    """``value`` as a finite float >= 0."""
    value = check_finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    value = check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]."""
    value = check_finite(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def check_one_of(name: str, value: Any, valid: Sequence[Any]) -> Any:
    """``value`` if it is one of ``valid``, else ValueError listing the valid values."""
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(map(repr, valid))}")
    return value


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative int (numpy and torch generators both accept it)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return seed


def check_packets(packets: Any) -> list[bytes]:
    """``packets`` as a list of bytes (``bytearray``/``memoryview`` converted)."""
    if isinstance(packets, (bytes, bytearray)):
        raise TypeError("packets must be a list of bytes objects, got a single bytes object")
    packets = list(packets)
    if all(type(p) is bytes for p in packets):  # fast path, no copies
        return packets
    out = []
    for i, p in enumerate(packets):
        if not isinstance(p, (bytes, bytearray, memoryview)):
            raise TypeError(f"packets[{i}] must be bytes, got {type(p).__name__}")
        out.append(bytes(p))
    return out
