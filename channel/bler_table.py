"""BLER(SNR) curves per MCS and code-block size, for ``CodedPhy(mode="abstract")``.

Curves are read from ``channel/data/bler_k{k_payload}.csv`` (built by
``python -m channel.tables`` from bit-true Sionna runs of the same chain as
``mode="link"``). Between tabled points the probit ``z = Q^{-1}(BLER)`` is interpolated
linearly against Es/N0 (dB) (a waterfall is close to a Gaussian tail in dB, so this
follows its S shape; linear interpolation of ``log BLER`` underestimates BLER in the
upper waterfall); the measured curve is first made non-increasing in SNR (Monte-Carlo
noise removed with a running minimum). Below the first point the first point's BLER
holds (~1: the first point lies at the Shannon limit); points without any block error
count as ``1e-7``, and results under ``1e-6``, like everything above the last point,
are 0.

Rayleigh block fading: a block with gain ``g = |h|^2 ~ Exp(1)`` sees AWGN at
``Es/N0 + 10 log10 g``; :meth:`BlerTable.bler_rayleigh` averages over ``g``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np

from channel.mcs import MCS_TABLE
from channel.tables import DATA_DIR

__all__ = ["BlerCurve", "BlerTable", "load_table", "available_block_sizes"]

_ZERO = 1e-7
_CUT = 1e-6
_GRID_DB = 0.005
_ND = NormalDist()


@dataclass(frozen=True, eq=False)
class BlerCurve:
    """One measured curve. :param esn0_db: [P] ascending; :param bler: [P] in [0, 1]."""

    mcs_index: int
    k_payload: int
    n: int
    esn0_db: np.ndarray
    bler: np.ndarray
    blocks: np.ndarray

    def __post_init__(self) -> None:
        mono = np.minimum.accumulate(np.clip(self.bler, 0.0, 1.0))
        # probit: BLER = Q(z), z linear in SNR between points (a waterfall is close to
        # a Gaussian tail in dB); tabulated once on a dense grid, log10 domain
        z = np.array([-_ND.inv_cdf(float(np.clip(b, _ZERO, 1 - _ZERO))) for b in mono])
        z = np.maximum.accumulate(z)
        grid = np.arange(self.esn0_db[0], self.esn0_db[-1] + 1e-9, _GRID_DB)
        zg = np.interp(grid, self.esn0_db, z)
        bler = np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in zg.tolist()])
        object.__setattr__(self, "_grid", grid)
        object.__setattr__(self, "_log", np.log10(np.maximum(bler, _ZERO)))

    def __call__(self, esn0_db: np.ndarray | float) -> np.ndarray:
        """BLER at Es/N0 (dB), any shape."""
        x = np.asarray(esn0_db, dtype=np.float64)
        log = np.interp(x, self._grid, self._log, left=self._log[0], right=np.log10(_ZERO))
        out = 10.0**log
        return np.where(out < _CUT, 0.0, out)

    def snr_for_bler(self, target: float) -> float:
        """Smallest tabled-interpolated Es/N0 (dB) with BLER <= ``target``."""
        grid = np.arange(self.esn0_db[0], self.esn0_db[-1] + 1e-9, 0.01)
        ok = np.flatnonzero(self(grid) <= target)
        return float(grid[ok[0]]) if ok.size else float("inf")


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
            bler=np.array([float(r["bler"]) for r in rs]),
            blocks=np.array([int(r["blocks"]) for r in rs]),
        )
    return BlerTable(k_payload, curves)
