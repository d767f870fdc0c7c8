"""Transport-block sizing (38.214) for a PUSCH allocation, slot timing, and packet ->
transport-block segmentation.

One PUSCH allocation per slot: ``n_prb`` PRBs x ``n_symbols`` OFDM symbols starting at
symbol 0 (mapping type A, DMRS type 1 with ``dmrs_additional_position`` extra DMRS
symbols, two CDM groups without data: a DMRS symbol carries no data). The transport
block size follows TS 38.214 Sec. 6.1.4.2 as implemented by Sionna's
:class:`sionna.phy.nr.PUSCHConfig` (``tb_size``, ``num_coded_bits``) and
:func:`sionna.phy.nr.utils.calculate_tb_size` (code-block segmentation). Slots follow the
numerology: ``slot_s = 1 ms / 2^mu`` with ``scs = 15 kHz * 2^mu``, 14 symbols per slot.

Segmentation: the image's packets are concatenated into one bit stream which is cut into
transport blocks (each of its grant's ``tb_size``, the last one zero-padded; padding is
sent). A packet is lost when any transport block holding one of its bits fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from channel.nr.config import numerology

__all__ = ["Allocation", "allocation", "slot_duration_s", "Segmentation", "segment"]


@dataclass(frozen=True)
class Allocation:
    """One slot's PUSCH grant at one MCS.

    :param tb_size: transport-block payload bits (TB CRC excluded).
    :param cb_size: bits per LDPC code block (CRCs included), ``num_cb`` code blocks.
    :param num_coded_bits: coded bits sent in the slot (data REs x bits per symbol).
    :param n_re: resource elements the grant occupies (DMRS included).
    :param n_data_re: data resource elements (DMRS excluded).
    :param bits_per_symbol: QAM bits per symbol; ``code_rate``: 38.214 target rate.
    """

    mcs_index: int
    mcs_table: int
    tb_size: int
    cb_size: int
    num_cb: int
    num_coded_bits: int
    n_re: int
    n_data_re: int
    bits_per_symbol: int
    code_rate: float


def pusch_config(
    *,
    n_prb: int,
    n_symbols: int,
    mcs_index: int,
    mcs_table: int,
    subcarrier_spacing_hz: float,
    dmrs_additional_position: int,
):
    """Sionna :class:`~sionna.phy.nr.PUSCHConfig` for the allocation (imports Sionna)."""
    from sionna.phy.nr import PUSCHConfig

    cfg = PUSCHConfig()
    cfg.carrier.subcarrier_spacing = subcarrier_spacing_hz / 1e3
    cfg.carrier.n_size_grid = n_prb
    cfg.symbol_allocation = [0, n_symbols]
    cfg.dmrs.additional_position = dmrs_additional_position
    cfg.tb.mcs_index = mcs_index
    cfg.tb.mcs_table = mcs_table
    try:
        cfg.check_config()
    except (ValueError, AssertionError) as e:
        raise ValueError(
            f"n_symbols={n_symbols} with dmrs_additional_position={dmrs_additional_position} "
            f"is not a valid PUSCH allocation ({e}); use more symbols or fewer DMRS"
        ) from None
    return cfg


@lru_cache(maxsize=512)
def allocation(
    *,
    n_prb: int,
    n_symbols: int,
    mcs_index: int,
    mcs_table: int,
    subcarrier_spacing_hz: float,
    dmrs_additional_position: int,
) -> Allocation:
    """The 38.214 transport block of one slot (cached; imports Sionna on first use)."""
    from sionna.phy.nr.utils import calculate_tb_size

    cfg = pusch_config(
        n_prb=n_prb,
        n_symbols=n_symbols,
        mcs_index=mcs_index,
        mcs_table=mcs_table,
        subcarrier_spacing_hz=subcarrier_spacing_hz,
        dmrs_additional_position=dmrs_additional_position,
    )
    tb_size = int(cfg.tb_size)
    m = int(cfg.tb.num_bits_per_symbol)
    rate = float(cfg.tb.target_coderate)
    n_coded = int(cfg.num_coded_bits)
    _, cb_size, num_cb, *_ = calculate_tb_size(
        modulation_order=m,
        target_coderate=rate,
        target_tb_size=tb_size,
        num_coded_bits=n_coded,
        return_cw_length=False,
    )
    return Allocation(
        mcs_index=mcs_index,
        mcs_table=mcs_table,
        tb_size=tb_size,
        cb_size=int(cb_size),
        num_cb=int(num_cb),
        num_coded_bits=n_coded,
        n_re=12 * n_prb * n_symbols,
        n_data_re=n_coded // m,
        bits_per_symbol=m,
        code_rate=rate,
    )


def slot_duration_s(subcarrier_spacing_hz: float) -> float:
    """Slot length ``1 ms / 2^mu`` (14 OFDM symbols, normal cyclic prefix)."""
    return 1e-3 / 2 ** numerology(subcarrier_spacing_hz)


@dataclass(frozen=True)
class Segmentation:
    """Where each packet's bits sit in the transport blocks.

    :param n_tb: transport blocks needed; ``padding_bits``: zero bits in the last one.
    :param first_tb, last_tb: ``[n_packets]`` index of each packet's first/last TB
        (a zero-length packet sits in the TB holding its start offset).
    """

    n_tb: int
    padding_bits: int
    first_tb: np.ndarray
    last_tb: np.ndarray

    def packet_failed(self, tb_failed: np.ndarray) -> np.ndarray:
        """``[n_packets]`` bool: a TB holding one of the packet's bits failed."""
        csum = np.concatenate([[0], np.cumsum(tb_failed.astype(np.int64))])
        return csum[self.last_tb + 1] - csum[self.first_tb] > 0

    def packet_slot(self, tb_slot: np.ndarray) -> np.ndarray:
        """``[n_packets]``: latest completion slot over each packet's TBs."""
        if len(self.first_tb) == 0:
            return np.zeros(0, dtype=np.int64)
        # running max over TB index ranges: TBs finish in order of their slots only
        # roughly (retransmissions), so take the max over each range explicitly
        out = np.empty(len(self.first_tb), dtype=np.int64)
        for i, (a, b) in enumerate(zip(self.first_tb.tolist(), self.last_tb.tolist(), strict=True)):
            out[i] = tb_slot[a : b + 1].max()
        return out


def segment(lengths_bytes: np.ndarray, tb_sizes: int | np.ndarray) -> Segmentation:
    """Place the concatenated packets (``lengths_bytes``) in transport blocks of
    ``tb_sizes`` bits: one size for all (as many TBs as needed), or the sizes of the TBs
    actually sent (link adaptation may change the MCS from one TB to the next).
    Packets without bits still need one TB when they are the whole payload."""
    bits = 8 * np.asarray(lengths_bytes, dtype=np.int64)
    total = int(bits.sum())
    if np.ndim(tb_sizes) == 0:
        size = int(tb_sizes)
        n_tb = max(1, -(-total // size)) if len(bits) else 0
        sizes = np.full(n_tb, size, dtype=np.int64)
    else:
        sizes = np.asarray(tb_sizes, dtype=np.int64)
        n_tb = len(sizes)
        if int(sizes.sum()) < total:
            raise ValueError(f"tb_sizes hold {int(sizes.sum())} bits, payload has {total}")
    tb_end = np.cumsum(sizes)
    start = np.concatenate([[0], np.cumsum(bits)[:-1]]) if len(bits) else bits
    end = start + np.maximum(bits, 1) - 1
    last = max(n_tb - 1, 0)
    first = np.minimum(np.searchsorted(tb_end, start, side="right"), last)
    final = np.minimum(np.searchsorted(tb_end, end, side="right"), last)
    return Segmentation(
        n_tb=n_tb,
        padding_bits=int(sizes.sum()) - total,
        first_tb=first.astype(np.int64),
        last_tb=final.astype(np.int64),
    )
