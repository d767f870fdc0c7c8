"""Closed-form bit error rates used to validate the simulated links.

- AWGN, Gray square M-QAM (BPSK, QPSK, 16/64/256-QAM): the exact expression of
  Cho & Yoon, "On the general BER expression of one- and two-dimensional amplitude
  modulations", IEEE Trans. Commun. 50(7), 2002, eq. (14) (per-dimension Gray PAM);
  BPSK ``Q(sqrt(2 Es/N0))``.
- Rayleigh (i.i.d. per symbol, perfect CSI), BPSK:
  ``0.5 * (1 - sqrt(g / (1 + g)))`` with ``g`` the mean Eb/N0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from channel.modulation import bits_per_symbol

__all__ = ["ber_awgn", "ber_rayleigh_bpsk", "db_to_linear"]


def db_to_linear(db: np.ndarray | float) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


def ber_awgn(modulation: str, esn0_db: np.ndarray | float) -> np.ndarray:
    """Exact uncoded bit error rate of Gray ``modulation`` over AWGN at Es/N0 (dB)."""
    m = bits_per_symbol(modulation)
    esn0 = db_to_linear(esn0_db)
    if m == 1:
        return 0.5 * erfc(np.sqrt(esn0))
    levels = 1 << (m // 2)  # sqrt(M)
    n_points = 1 << m
    total = np.zeros_like(esn0)
    for k in range(1, m // 2 + 1):  # bit position within one PAM dimension
        pk = np.zeros_like(esn0)
        for i in range(int((1 - 2.0**-k) * levels)):
            w = (-1) ** math.floor(i * 2 ** (k - 1) / levels) * (
                2 ** (k - 1) - math.floor(i * 2 ** (k - 1) / levels + 0.5)
            )
            pk += w * erfc((2 * i + 1) * np.sqrt(3 * esn0 / (2 * (n_points - 1))))
        total += pk / levels
    return total / (m // 2)


def ber_rayleigh_bpsk(ebn0_db: np.ndarray | float) -> np.ndarray:
    """BPSK bit error rate over i.i.d. Rayleigh fading with perfect CSI, mean Eb/N0 (dB)."""
    g = db_to_linear(ebn0_db)
    return 0.5 * (1.0 - np.sqrt(g / (1.0 + g)))
