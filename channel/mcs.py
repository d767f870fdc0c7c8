"""Modulation and coding schemes (MCS) for :class:`channel.CodedPhy`, and adaptive MCS.

The table is this project's own set (5G NR LDPC code rates on Gray QAM), not a 3GPP MCS
table: each entry is ``(modulation, code_rate)``; spectral efficiency is
``bits_per_symbol * code_rate`` information bits per channel symbol (CRC included in
the coded bits; the model accounts the CRC as overhead separately).

Indices 0-8 are the original set (kept stable: configs and result rows name them);
indices 9-14 are low-spectral-efficiency QPSK rates taken from 5G NR's low-SE table
(TS 38.214 Table 5.1.3.1-3, MCS 0, 2, 4, 6, 8, 10: code rate x 1024 = 30, 50, 78, 120,
193, 251), so that low SNRs trade airtime for delivery. Rates below 1/5 repeat the
rate-1/5 LDPC codeword with maximum-ratio combining (:mod:`channel.ldpc_link`).

====  ==========  =================  ====================
idx   modulation  code rate          spectral efficiency
====  ==========  =================  ====================
9     QPSK        30/1024 = 0.0293   0.0586
10    QPSK        50/1024 = 0.0488   0.0977
11    QPSK        78/1024 = 0.0762   0.1523
12    QPSK        120/1024 = 0.1172  0.2344
13    QPSK        193/1024 = 0.1885  0.3770
14    QPSK        251/1024 = 0.2451  0.4902
0     QPSK        1/3                0.6667
1     QPSK        1/2                1.0
2     QPSK        2/3                1.3333
3     16-QAM      1/2                2.0
4     16-QAM      2/3                2.6667
5     16-QAM      3/4                3.0
6     64-QAM      2/3                4.0
7     64-QAM      3/4                4.5
8     64-QAM      5/6                5.0
====  ==========  =================  ====================

:data:`MCS_ORDER` lists the indices by increasing spectral efficiency (the
adaptive-MCS search order).
"""

from __future__ import annotations

from dataclasses import dataclass

from channel.modulation import MODULATIONS, bits_per_symbol
from channel.validate import check_finite, check_one_of

__all__ = ["MCS", "MCS_TABLE", "MCS_ORDER", "MIN_CODE_RATE", "resolve_mcs", "mcs_index"]

#: lowest code rate accepted (5G NR's lowest MCS, 30/1024, rounded down)
MIN_CODE_RATE = 0.025


@dataclass(frozen=True)
class MCS:
    """One modulation and coding scheme.

    :param modulation: a name from :data:`channel.modulation.MODULATIONS`.
    :param code_rate: code rate in [0.025, 0.95]: 5G NR LDPC from 1/5 up to 0.95
        (TS 38.212 5.4.2.1), below 1/5 the rate-1/5 codeword repeated
        (:mod:`channel.ldpc_link`).
    """

    modulation: str
    code_rate: float

    def __post_init__(self) -> None:
        check_one_of("modulation", self.modulation, tuple(MODULATIONS))
        rate = check_finite("code_rate", self.code_rate)
        if not MIN_CODE_RATE <= rate <= 0.95:
            raise ValueError(
                f"code_rate must lie in [{MIN_CODE_RATE}, 0.95] (5G NR LDPC up to 0.95; "
                f"below 1/5 by repetition), got {self.code_rate}"
            )

    @property
    def bits_per_symbol(self) -> int:
        return bits_per_symbol(self.modulation)

    @property
    def spectral_efficiency(self) -> float:
        """Coded-block information bits per symbol: ``bits_per_symbol * code_rate``."""
        return self.bits_per_symbol * self.code_rate

    @property
    def label(self) -> str:
        return f"{self.modulation}-{self.code_rate:.4g}"


#: index -> MCS; 0-8 the original set, 9-14 the low-spectral-efficiency additions
MCS_TABLE: tuple[MCS, ...] = (
    MCS("qpsk", 1 / 3),
    MCS("qpsk", 1 / 2),
    MCS("qpsk", 2 / 3),
    MCS("16qam", 1 / 2),
    MCS("16qam", 2 / 3),
    MCS("16qam", 3 / 4),
    MCS("64qam", 2 / 3),
    MCS("64qam", 3 / 4),
    MCS("64qam", 5 / 6),
    MCS("qpsk", 30 / 1024),
    MCS("qpsk", 50 / 1024),
    MCS("qpsk", 78 / 1024),
    MCS("qpsk", 120 / 1024),
    MCS("qpsk", 193 / 1024),
    MCS("qpsk", 251 / 1024),
)

#: table indices by increasing spectral efficiency (the adaptive-MCS search order)
MCS_ORDER: tuple[int, ...] = tuple(
    sorted(range(len(MCS_TABLE)), key=lambda i: MCS_TABLE[i].spectral_efficiency)
)


def resolve_mcs(mcs: int | tuple[str, float] | MCS) -> MCS:
    """An MCS from a table index, a ``(modulation, code_rate)`` pair or an :class:`MCS`."""
    if isinstance(mcs, MCS):
        return mcs
    if isinstance(mcs, bool):
        raise TypeError("mcs must be an int index, a (modulation, code_rate) pair or an MCS")
    if isinstance(mcs, int):
        if not 0 <= mcs < len(MCS_TABLE):
            raise ValueError(
                f"mcs index must lie in [0, {len(MCS_TABLE) - 1}], got {mcs}; "
                f"table: {', '.join(f'{i}={m.label}' for i, m in enumerate(MCS_TABLE))}"
            )
        return MCS_TABLE[mcs]
    if isinstance(mcs, (tuple, list)) and len(mcs) == 2:
        return MCS(str(mcs[0]), float(mcs[1]))
    raise TypeError(
        f"mcs must be an int index, a (modulation, code_rate) pair or an MCS, got {mcs!r}"
    )


def mcs_index(mcs: MCS) -> int | None:
    """Index of ``mcs`` in :data:`MCS_TABLE` (rates compared to 1e-6), or None."""
    for i, m in enumerate(MCS_TABLE):
        if m.modulation == mcs.modulation and abs(m.code_rate - mcs.code_rate) < 1e-6:
            return i
    return None
