"""Parameter checks shared by the channel models (errors name the parameter and the fix).

Numbers: ``int``, ``float``, numpy scalars and 0-d arrays / tensors are accepted; ``bool``
(``loss=True``) and strings (``loss="0.1"``, or ``1e-3``, which YAML reads as text) are
refused with a ``TypeError``, never converted silently.

>>> check_probability("loss", 0.25)
0.25
>>> check_snr_db("snr_db", -3090)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: snr_db must lie in [-50, 100] dB, got -3090.0; ...
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "SNR_DB_RANGE",
    "MIN_TRANSITION_PROBABILITY",
    "SEED_MAX",
    "check_finite",
    "check_non_negative",
    "check_positive",
    "check_probability",
    "check_transition_probability",
    "check_mean_burst_length",
    "check_snr_db",
    "check_one_of",
    "check_seed",
    "check_packets",
]

#: SNRs (dB) a physical link can have; outside it the model is meaningless and its
#: powers (10^(snr/10)) under- or overflow.
SNR_DB_RANGE = (-50.0, 100.0)
#: smallest non-zero Markov transition probability: a mean sojourn of 1e12 packets, far
#: beyond any simulated stream (smaller values overflow the sojourn-time sums)
MIN_TRANSITION_PROBABILITY = 1e-12
#: largest seed: numpy's and torch's generators take seeds in [0, 2^64)
SEED_MAX = 2**64 - 1


def _number(name: str, value: Any) -> float:
    """``value`` as a float; bools, strings and non-numbers refused (TypeError)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{name} must be a number, got the bool {value!r}; give a number (e.g. 0.1)"
        )
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{name} must be a number, got the string {value!r}; write the number without "
            "quotes (in YAML write exponents with a dot, 1.0e-3, or YAML reads them as text)"
        )
    if isinstance(value, numbers.Real):
        return float(value)
    if getattr(value, "shape", None) == () and "bool" not in str(getattr(value, "dtype", "")):
        try:
            return float(value)  # 0-d numpy arrays and torch tensors
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{name} must be a number, got {type(value).__name__}")


def check_finite(name: str, value: Any) -> float:
    """``value`` as a finite float, else TypeError / ValueError naming ``name``."""
    value = _number(name, value)
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


def check_transition_probability(name: str, value: Any) -> float:
    """A Markov transition probability: 0, or in [:data:`MIN_TRANSITION_PROBABILITY`, 1].

    A probability ``p`` gives mean sojourns of ``1 / p`` packets; below 1e-12 the sampled
    sojourn lengths overflow int64 (``p_bg=1e-300``) for no modelling gain (0 means
    "never leaves", which is exact)."""
    value = check_probability(name, value)
    if 0.0 < value < MIN_TRANSITION_PROBABILITY:
        raise ValueError(
            f"{name} must be 0 or >= {MIN_TRANSITION_PROBABILITY:g} (a mean sojourn of at most "
            f"1e12 packets), got {value:g}; use 0 for a state that is never left"
        )
    return value


def check_mean_burst_length(name: str, value: Any) -> float:
    """A mean burst length in packets, in [1, 1 / :data:`MIN_TRANSITION_PROBABILITY`]."""
    value = check_finite(name, value)
    longest = 1.0 / MIN_TRANSITION_PROBABILITY
    if not 1.0 <= value <= longest:
        raise ValueError(f"{name} must lie in [1, {longest:g}] packets, got {value:g}")
    return value


def check_snr_db(name: str, value: Any, valid: tuple[float, float] = SNR_DB_RANGE) -> float:
    """An SNR in dB within the physical range ``valid`` (default -50 ... 100 dB)."""
    value = check_finite(name, value)
    lo, hi = valid
    if not lo <= value <= hi:
        raise ValueError(
            f"{name} must lie in [{lo:g}, {hi:g}] dB, got {value}; an SNR outside it is not a "
            "physical link (check the sign and the unit: dB, not linear)"
        )
    return value


def check_one_of(name: str, value: Any, valid: Sequence[Any]) -> Any:
    """``value`` if it is one of ``valid``, else ValueError listing the valid values."""
    try:
        known = value in valid
    except TypeError:  # unhashable value against a set / dict
        known = False
    if not known:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(map(repr, valid))}")
    return value


def check_seed(seed: Any) -> int:
    """``seed`` as an int in [0, 2^64) (Python or numpy integers; bools refused)."""
    if isinstance(seed, bool | np.bool_):
        raise TypeError(f"seed must be an int, got the bool {seed!r}")
    if not isinstance(seed, numbers.Integral):
        try:
            seed = operator.index(seed)  # 0-d integer arrays / tensors
        except TypeError:
            raise TypeError(f"seed must be an int, got {type(seed).__name__}") from None
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if seed > SEED_MAX:
        raise ValueError(f"seed must be < 2**64 (numpy and torch generators), got {seed}")
    return seed


def check_packets(packets: Any) -> list[bytes]:
    """``packets`` as a list of bytes (``bytearray``/``memoryview`` converted)."""
    if isinstance(packets, bytes | bytearray):
        raise TypeError("packets must be a list of bytes objects, got a single bytes object")
    packets = list(packets)
    if all(type(p) is bytes for p in packets):  # fast path, no copies
        return packets
    out = []
    for i, p in enumerate(packets):
        if not isinstance(p, bytes | bytearray | memoryview):
            raise TypeError(f"packets[{i}] must be bytes, got {type(p).__name__}")
        out.append(bytes(p))
    return out
