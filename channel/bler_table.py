"""BLER(SNR) curves per MCS and code-block size, for ``CodedPhy(mode="abstract")``.

Curves are read from ``channel/data/bler_k{k_payload}.csv`` (built by
``python -m channel.tables`` from bit-true Sionna runs of the same chain as
``mode="link"``; each row holds ``blocks`` and ``block_errors`` at one Es/N0).

A curve is never 0 (no zero tails). It works in the probit domain
``z = Q^{-1}(BLER)`` (``BLER = Q(z)``; a waterfall is close to a Gaussian tail in dB,
``z`` close to linear in Es/N0):

1. **Tail fit.** A probit line ``z(s) = a + b s`` (``b > 0``, per dB) is fitted by
   binomial maximum likelihood, ``max sum_i e_i log Q(z_i) + (n_i - e_i) log(1 - Q(z_i))``,
   to the lower waterfall: every point from the first one with observed BLER <= 0.3
   upwards, zero-error points included (they pull the line down by ``(1-p)^n``). It
   needs two points with 0 < errors < blocks there (else the points below 1 from
   the top are added).
2. **Point values.** A point with at least :data:`MIN_ERRORS` errors keeps its measured
   BLER; a point in the fitted region with fewer errors takes the fit's value (less
   noisy than 1/n), kept within its one-sided 95 % Clopper-Pearson bounds (upper
   bound ``1 - 0.05**(1/n)`` ~ ``3/n`` for zero errors). The values are then made
   non-increasing in SNR (running maximum of ``z``).
3. **Curve.** ``z`` is interpolated linearly between points; below the first point its
   value holds (~1: the grid starts at the Shannon limit); beyond the last point the
   waterfall is extrapolated with the fit's slope, ``z = z_last + b (s - s_last)``
   (monotone decreasing), down to :data:`BLER_FLOOR` (a modelling floor, far below
   anything a sweep can observe; real LDPC codes have error floors the fit does not
   model).

Rayleigh block fading: a block with gain ``g = |h|^2 ~ Exp(1)`` sees AWGN at
``Es/N0 + 10 log10 g``; :meth:`BlerTable.bler_rayleigh` averages over ``g``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr, ndtr, ndtri
from scipy.stats import beta

from channel.mcs import MCS_TABLE
from channel.tables import DATA_DIR

__all__ = [
    "BLER_FLOOR",
    "MIN_ERRORS",
    "BlerCurve",
    "BlerTable",
    "load_table",
    "available_block_sizes",
    "upper_bound95",
    "lower_bound95",
]

#: smallest BLER a curve reports (extrapolation stops there)
BLER_FLOOR = 1e-12
#: points with fewer block errors take the tail fit's value (when in the fitted region)
MIN_ERRORS = 10
#: the tail fit starts at the first point with observed BLER at or below this
FIT_FROM_BLER = 0.3
_Z_MAX = float(-ndtri(BLER_FLOOR))
_Z_MIN = -_Z_MAX


def upper_bound95(errors: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """One-sided 95 % Clopper-Pearson upper bound on a BLER from ``errors`` of
    ``blocks`` (``1 - 0.05**(1/n)`` ~ ``3/n`` at zero errors)."""
    e = np.asarray(errors, dtype=np.float64)
    n = np.asarray(blocks, dtype=np.float64)
    return np.where(e >= n, 1.0, beta.ppf(0.95, e + 1, np.maximum(n - e, 1)))


def lower_bound95(errors: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """One-sided 95 % Clopper-Pearson lower bound (0 at zero errors)."""
    e = np.asarray(errors, dtype=np.float64)
    n = np.asarray(blocks, dtype=np.float64)
    return np.where(e <= 0, 0.0, beta.ppf(0.05, np.maximum(e, 1), n - e + 1))


def _z(bler: np.ndarray | float) -> np.ndarray:
    """Probit ``Q^{-1}(BLER)``, clipped to the floor's range."""
    return np.clip(-ndtri(np.clip(bler, BLER_FLOOR, 1 - BLER_FLOOR)), _Z_MIN, _Z_MAX)


def _fit_tail(snr: np.ndarray, errors: np.ndarray, blocks: np.ndarray) -> tuple[float, float]:
    """Binomial maximum-likelihood probit line ``(a, b)`` through points (see module)."""
    informative = (errors > 0) & (errors < blocks)
    if informative.sum() < 2:
        raise ValueError("tail fit needs two points with 0 < errors < blocks")
    s0 = float(snr[informative].mean())
    # start: least squares through the informative points' probits
    b0, a0 = np.polyfit(snr[informative] - s0, _z(errors[informative] / blocks[informative]), 1)
    b0 = max(float(b0), 0.1)

    def nll(theta: np.ndarray) -> float:
        z = theta[0] + np.exp(theta[1]) * (snr - s0)
        return -float(np.sum(errors * log_ndtr(-z) + (blocks - errors) * log_ndtr(z)))

    res = minimize(nll, np.array([a0, np.log(b0)]), method="Nelder-Mead")
    a, b = float(res.x[0]), float(np.exp(res.x[1]))
    return a - b * s0, b


@dataclass(frozen=True, eq=False)
class BlerCurve:
    """One measured curve with its tail fit.

    :param esn0_db: [P] ascending Es/N0 (dB) of the points.
    :param errors: [P] block errors observed; :param blocks: [P] blocks simulated.
    """

    mcs_index: int
    k_payload: int
    n: int
    esn0_db: np.ndarray
    errors: np.ndarray
    blocks: np.ndarray

    def __post_init__(self) -> None:
        s = np.asarray(self.esn0_db, dtype=np.float64)
        e = np.asarray(self.errors, dtype=np.float64)
        n = np.asarray(self.blocks, dtype=np.float64)
        if s.ndim != 1 or not (s.shape == e.shape == n.shape) or np.any(np.diff(s) <= 0):
            raise ValueError("BlerCurve: esn0_db must be ascending, one entry per point")
        observed = e / n
        below = np.flatnonzero(observed <= FIT_FROM_BLER)
        start = int(below[0]) if below.size else len(s) - 1
        while start > 0 and np.sum((e[start:] > 0) & (e[start:] < n[start:])) < 2:
            start -= 1
        try:
            a, b = _fit_tail(s[start:], e[start:], n[start:])
        except ValueError as err:
            raise ValueError(
                f"BLER curve mcs={self.mcs_index} k_payload={self.k_payload}: {err}; "
                "build more points with `python -m channel.tables`"
            ) from None
        upper = upper_bound95(e, n)
        z = _z(observed)
        fitted = (np.arange(len(s)) >= start) & (e < MIN_ERRORS)
        lower = lower_bound95(e, n)
        z = np.where(fitted, np.clip(a + b * s, _z(upper), _z(lower)), z)
        z = np.maximum.accumulate(z)
        for name, value in (
            ("upper95", upper),
            ("tail_fit", (a, b)),
            ("fit_start_db", float(s[start])),
            ("_s", s),
            ("_zp", z),
        ):
            object.__setattr__(self, name, value)

    @property
    def bler(self) -> np.ndarray:
        """[P] observed BLER of the points (``errors / blocks``)."""
        return np.asarray(self.errors) / np.asarray(self.blocks)

    def _zcurve(self, x: np.ndarray) -> np.ndarray:
        a, b = self.tail_fit
        beyond = self._zp[-1] + b * (x - self._s[-1])
        return np.clip(
            np.where(x > self._s[-1], beyond, np.interp(x, self._s, self._zp)), None, _Z_MAX
        )

    def __call__(self, esn0_db: np.ndarray | float) -> np.ndarray:
        """BLER at Es/N0 (dB), any shape; in ``[BLER_FLOOR, 1]``, non-increasing."""
        x = np.asarray(esn0_db, dtype=np.float64)
        return np.maximum(ndtr(-self._zcurve(x)), BLER_FLOOR)

    def snr_for_bler(self, target: float) -> float:
        """Smallest Es/N0 (dB) with BLER <= ``target`` (beyond the points: the fit)."""
        zt = float(_z(target))
        if zt <= self._zp[0]:
            return float(self._s[0])
        if zt > self._zp[-1]:
            return float(self._s[-1] + (zt - self._zp[-1]) / self.tail_fit[1])
        j = int(np.flatnonzero(self._zp >= zt)[0])
        z0, z1, s0, s1 = self._zp[j - 1], self._zp[j], self._s[j - 1], self._s[j]
        return float(s0 + (s1 - s0) * (zt - z0) / (z1 - z0))


def _fade_grid() -> tuple[float, np.ndarray, np.ndarray]:
    """(P(fade deeper than -60 dB), cell mid-points in dB, cell probabilities) for
    10 log10 g, g ~ Exp(1), on a 0.02 dB grid up to +20 dB."""
    edges_db = np.arange(-60.0, 20.0 + 1e-9, 0.02)
    cdf = -np.expm1(-(10.0 ** (edges_db / 10.0)))
    return float(cdf[0]), 0.5 * (edges_db[1:] + edges_db[:-1]), np.diff(cdf)


_FADE_GRID = _fade_grid()


class BlerTable:
    """All curves of one code-block payload size."""

    def __init__(self, k_payload: int, curves: dict[int, BlerCurve]) -> None:
        self.k_payload = k_payload
        self.curves = curves

    def curve(self, mcs_index: int) -> BlerCurve:
        if mcs_index not in self.curves:
            raise ValueError(
                f"no BLER curve for mcs index {mcs_index} at block_payload_bits="
                f"{self.k_payload}; tabled: {sorted(self.curves)} "
                "(build more with `python -m channel.tables`)"
            )
        return self.curves[mcs_index]

    def bler(self, mcs_index: int, esn0_db: np.ndarray | float) -> np.ndarray:
        """AWGN BLER of MCS ``mcs_index`` at Es/N0 (dB)."""
        return self.curve(mcs_index)(esn0_db)

    def bler_rayleigh(self, mcs_index: int, mean_esn0_db: float) -> float:
        """BLER averaged over Rayleigh block fading at mean Es/N0 (dB).

        ``E[BLER(snr + 10 log10 g)]`` with ``g ~ Exp(1)``, integrated on a 0.02 dB grid
        of block SNRs (probability of each cell from the CDF ``1 - exp(-g)``); fades
        more than 60 dB deep count as lost blocks.
        """
        curve = self.curve(mcs_index)
        first, mids, cell_prob = _FADE_GRID
        return float(first + np.dot(cell_prob, curve(mean_esn0_db + mids)))


def available_block_sizes() -> list[int]:
    """Code-block payload sizes with a shipped table."""
    return sorted(int(p.stem.removeprefix("bler_k")) for p in DATA_DIR.glob("bler_k*.csv"))


@cache
def load_table(k_payload: int) -> BlerTable:
    """The BLER table for ``k_payload`` payload bits per code block (cached)."""
    path = DATA_DIR / f"bler_k{k_payload}.csv"
    if not path.exists():
        raise ValueError(
            f"no BLER table for block_payload_bits={k_payload}; available: "
            f"{available_block_sizes()} (build one with "
            f"`python -m channel.tables --k-payload {k_payload}`)"
        )
    rows: dict[int, list[dict]] = {}
    with path.open() as f:
        for r in csv.DictReader(f):
            rows.setdefault(int(r["mcs_index"]), []).append(r)
    curves = {}
    for mi, rs in rows.items():
        if mi >= len(MCS_TABLE):
            continue
        rs.sort(key=lambda r: float(r["esn0_db"]))
        curves[mi] = BlerCurve(
            mcs_index=mi,
            k_payload=k_payload,
            n=int(rs[0]["n"]),
            esn0_db=np.array([float(r["esn0_db"]) for r in rs]),
            errors=np.array([int(r["block_errors"]) for r in rs]),
            blocks=np.array([int(r["blocks"]) for r in rs]),
        )
    return BlerTable(k_payload, curves)
