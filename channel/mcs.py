"""Modulation and coding schemes (MCS) for :class:`channel.CodedPhy`, and adaptive MCS.

The table is this project's own small set (5G NR LDPC code rates on Gray QAM), not a
3GPP MCS table: each entry is ``(modulation, code_rate)``; spectral efficiency is
``bits_per_symbol * code_rate`` information bits per channel symbol (CRC included in
the coded bits; the model accounts the CRC as overhead separately).
"""

from __future__ import annotations

from dataclasses import dataclass

from channel.modulation import MODULATIONS, bits_per_symbol
from channel.validate import check_finite, check_one_of

__all__ = ["MCS", "MCS_TABLE", "resolve_mcs", "mcs_index"]


@dataclass(frozen=True)
class MCS:
    """One modulation and coding scheme.

    :param modulation: a name from :data:`channel.modulation.MODULATIONS`.
    :param code_rate: LDPC code rate in (0.2, 0.95] (5G NR LDPC limits).
    """

    modulation: str
    code_rate: float

    def __post_init__(self) -> None:
        check_one_of("modulation", self.modulation, tuple(MODULATIONS))
        rate = check_finite("code_rate", self.code_rate)
        if not 0.2 <= rate <= 0.95:
            raise ValueError(
                f"code_rate must lie in [0.2, 0.95] (5G NR LDPC), got {self.code_rate}"
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


#: index -> MCS, in increasing spectral efficiency (the adaptive-MCS search order)
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
