"""Shannon-capacity check: no configuration may deliver more information bits per
channel symbol than ``log2(1 + SNR)`` (AWGN) or the ergodic Rayleigh capacity
``E[log2(1 + |h|^2 SNR)]``.

Delivered information per symbol of a configuration:

- ``CodedPhy``: ``k_payload / n_symbols * (1 - BLER)`` (goodput of a code block, BLER
  from the tables, fading-averaged for Rayleigh);
- ``Uncoded``: ``m * (1 - H2(BER))`` (the capacity of the binary symmetric channel the
  hard decisions leave, per bit, an upper bound on what any outer code could recover),
  BER from the closed forms of :mod:`channel.theory` (AWGN; BPSK Rayleigh) or
  measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "shannon_capacity",
    "rayleigh_capacity",
    "capacity_per_use",
    "binary_entropy",
    "CapacityCheck",
    "check_capacity",
]


def shannon_capacity(snr_db: float | np.ndarray) -> np.ndarray:
    """AWGN capacity in bits per complex symbol at SNR (Es/N0) in dB."""
    return np.log2(1.0 + 10.0 ** (np.asarray(snr_db, dtype=np.float64) / 10.0))


@lru_cache(maxsize=1)
def _laguerre() -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.laguerre.laggauss(64)


def rayleigh_capacity(mean_snr_db: float) -> float:
    """Ergodic capacity ``E[log2(1 + g SNR)]``, ``g ~ Exp(1)`` (Gauss-Laguerre, 64 nodes)."""
    x, w = _laguerre()
    snr = 10.0 ** (mean_snr_db / 10.0)
    return float(np.sum(w * np.log2(1.0 + x * snr)))


def capacity_per_use(esn0_db: float, fading: str = "awgn") -> float:
    """Shannon capacity in bits per complex channel use at mean Es/N0 ``esn0_db``:
    ``log2(1 + SNR)`` for ``fading="awgn"``, the ergodic ``E[log2(1 + |h|^2 SNR)]`` for
    ``"rayleigh"`` (what every model's :meth:`~channel.base.Channel.capacity_per_use`
    returns, and the denominator of a row's ``capacity_ratio``).

    >>> round(capacity_per_use(0.0), 6), round(capacity_per_use(0.0, "rayleigh"), 4)
    (1.0, 0.8603)
    """
    if fading == "rayleigh":
        return rayleigh_capacity(float(esn0_db))
    if fading != "awgn":
        raise ValueError(f"unknown fading {fading!r}; valid: 'awgn', 'rayleigh'")
    return float(shannon_capacity(float(esn0_db)))


def binary_entropy(p: float | np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log2(p) + q * np.log2(q))


@dataclass(frozen=True)
class CapacityCheck:
    """Result of :func:`check_capacity`."""

    info_bits_per_symbol: float
    capacity: float
    snr_db: float
    ok: bool


def check_capacity(channel, *, ber: float | None = None) -> CapacityCheck:
    """Compare a ``CodedPhy`` or ``Uncoded`` configuration with the capacity at its SNR.

    :param ber: Uncoded only: a measured BER (else the closed form where one exists).
    """
    from channel.coded_phy import CodedPhy
    from channel.theory import ber_awgn, ber_rayleigh_bpsk
    from channel.uncoded import Uncoded

    if isinstance(channel, CodedPhy):
        mcs, _ = channel.current_mcs()
        esn0 = channel._esn0_db(mcs)
        info = channel.info_bits_per_symbol() * (1.0 - channel.expected_bler())
    elif isinstance(channel, Uncoded):
        esn0 = channel.esn0_db
        if ber is None:
            if channel.fading == "awgn":
                ber = float(ber_awgn(channel.modulation, esn0))
            elif channel.modulation == "bpsk" and channel.coherence == "symbol":
                ber = float(ber_rayleigh_bpsk(esn0))
            else:
                raise ValueError("ber: pass a measured BER for this Uncoded configuration")
        info = channel.bits_per_symbol * float(1.0 - binary_entropy(min(ber, 0.5)))
    else:
        raise TypeError(f"channel: expected CodedPhy or Uncoded, got {type(channel).__name__}")
    cap = rayleigh_capacity(esn0) if channel.fading == "rayleigh" else float(shannon_capacity(esn0))
    return CapacityCheck(info, cap, esn0, bool(info <= cap))
