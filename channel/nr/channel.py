"""``nr``: the edge's uplink as a 5G NR PUSCH link (OFDM over TR 38.901 fading, channel
estimation, HARQ, link adaptation), bit-true (``mode="link"``) or abstracted
(``mode="abstract"``, the default).

One image = the packets of one :meth:`NR.transmit` call: concatenated, cut into 38.214
transport blocks for the grant (:mod:`channel.nr.allocation`), sent one TB per slot with
HARQ (:mod:`channel.nr.harq`) over one channel realisation evolving with Doppler across
the image's slots (:mod:`channel.nr.fading`). ``abstract`` decodes each transmission
with probability ``1 - TBLER`` from the per-RE SINR, EESM and Sionna's BLER tables
(:mod:`channel.nr.abstraction`); ``link`` runs Sionna's PUSCH transmitter, the same
channel (plus AWGN) and Sionna's PUSCH receiver (:mod:`channel.nr.link`). A packet is
lost when one of its TBs fails after ``harq_max_tx`` transmissions.

Costs (per image): ``channel_uses`` = REs of every transmission (DMRS included: the
whole ``12 n_prb x n_symbols`` grant per slot); ``airtime_s`` = transmissions x slot;
``latency_s`` = first slot to the end of the slot of the last decode (ACK or final
NACK), idle HARQ waits included, plus ``delay_s``; ``bits_on_air`` = coded bits sent.
SNR: ``snr_db`` is Es/N0 per resource element (mean over the fading, unit-power
channel, DMRS at the power Sionna's transmitter gives them).

Randomness: the fading realisation draws from ``derive_seed(seed, 1)``, decoding draws
(abstract) or noise (link) from ``derive_seed(seed, 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from channel.base import Channel, ChannelStream
from channel.delivery import Delivery
from channel.nr.config import is_fading, is_los, validate

__all__ = ["NR", "NRStream"]

#: UT speed of fading models when ``speed_mps`` is not given (pedestrian)
DEFAULT_SPEED_MPS = 3.0


@dataclass(frozen=True)
class NR(Channel):
    """5G NR PUSCH uplink (see the module docstring).

    :param snr_db: mean Es/N0 per resource element, dB.
    :param model: ``awgn``, ``rayleigh`` (flat), ``tdl-a`` ... ``tdl-e``, ``cdl-a`` ... ``cdl-e``.
    :param speed_mps: UT speed (Doppler); fading models only; None = 3 m/s.
    :param delay_spread_s: RMS delay spread of TDL/CDL; None = 100 ns.
    :param carrier_hz: carrier frequency (3.5 GHz).
    :param subcarrier_spacing_hz: 15, 30, 60 or 120 kHz (slot = 1 ms / 2^mu).
    :param n_prb: PRBs per grant; ``n_symbols``: OFDM symbols per grant (4..14).
    :param dmrs_additional_position: extra DMRS symbols per slot (0..3).
    :param mcs_index: MCS for ``link_adaptation="fixed"`` (and ILLA/OLLA's fallback range).
    :param mcs_table: 38.214 PUSCH MCS table: 1 (64-QAM) or 2 (256-QAM).
    :param estimator: ``ls`` (LS at DMRS, linear interpolation), ``lmmse`` (Sionna's PUSCH
        LMMSE estimator with the model's covariances) or ``perfect``.
    :param harq_max_tx: transmissions per TB (1 = no HARQ).
    :param harq_combining: ``chase`` or ``ir`` (IR: abstract mode only).
    :param harq_rtt_slots: slots from a transmission to its retransmission (1..16).
    :param link_adaptation: ``fixed``, ``illa`` or ``olla``; ``bler_target`` (first
        transmissions) and ``olla_delta_up_db`` (OLLA's NACK step).
    :param mode: ``abstract`` or ``link`` (bit-true, slow).
    :param delay_s: propagation/processing delay added to the latency.
    :param num_iter: LDPC decoder iterations (link mode).

    >>> ch = NR(snr_db=10.0, model="awgn", n_prb=4, mcs_index=10, harq_max_tx=1)
    >>> d = ch.transmit([bytes(96)] * 3, seed=0)   # 3 x 768 bits = 3 TBs of 768 bits
    >>> d.n_lost, d.stats["tb_count"], d.channel_uses, d.stats["mcs_index"]
    (0, 3, 2016.0, 10)
    """

    snr_db: float
    model: str = "tdl-c"
    speed_mps: float | None = None
    delay_spread_s: float | None = None
    carrier_hz: float = 3.5e9
    subcarrier_spacing_hz: float = 30e3
    n_prb: int = 51
    n_symbols: int = 14
    dmrs_additional_position: int = 1
    mcs_index: int = 10
    mcs_table: int = 1
    estimator: Literal["perfect", "ls", "lmmse"] = "ls"
    harq_max_tx: int = 4
    harq_combining: Literal["chase", "ir"] = "chase"
    harq_rtt_slots: int = 8
    link_adaptation: Literal["fixed", "illa", "olla"] = "fixed"
    bler_target: float = 0.1
    olla_delta_up_db: float = 1.0
    mode: Literal["abstract", "link"] = "abstract"
    delay_s: float = 0.0
    num_iter: int = 20

    name: ClassVar[str] = "nr"

    def __post_init__(self) -> None:
        for key, value in validate(self).items():
            object.__setattr__(self, key, value)
        if self.harq_rtt_slots > 16:
            raise ValueError(
                f"harq_rtt_slots must be <= 16 (NR's 16 HARQ processes), got {self.harq_rtt_slots}"
            )
        # a grant must hold at least one TB at its MCS: checked with the 38.214 sizing
        # (imports Sionna) when the channel is first used, see _alloc; the cheap bound
        # here catches the obvious cases without the import
        data_re = 12 * self.n_prb * (self.n_symbols - 1 - self.dmrs_additional_position)
        if data_re < 24:
            raise ValueError(
                f"n_prb={self.n_prb} x n_symbols={self.n_symbols} leaves {data_re} data REs "
                "after DMRS: too small for one transport block; use more PRBs or symbols"
            )

    # -- configuration ---------------------------------------------------------------
    @property
    def speed(self) -> float:
        """UT speed used (0 for awgn)."""
        if not is_fading(self.model):
            return 0.0
        return DEFAULT_SPEED_MPS if self.speed_mps is None else self.speed_mps

    @property
    def slot_s(self) -> float:
        from channel.nr.allocation import slot_duration_s

        return slot_duration_s(self.subcarrier_spacing_hz)

    def _grant(self) -> dict[str, Any]:
        return dict(
            n_prb=self.n_prb,
            n_symbols=self.n_symbols,
            subcarrier_spacing_hz=self.subcarrier_spacing_hz,
            dmrs_additional_position=self.dmrs_additional_position,
        )

    def allocation(self, mcs_index: int | None = None):
        """The 38.214 grant at ``mcs_index`` (default: the fixed MCS)."""
        from channel.nr.allocation import allocation

        mcs = self.mcs_index if mcs_index is None else mcs_index
        a = allocation(mcs_index=mcs, mcs_table=self.mcs_table, **self._grant())
        if a.tb_size < 24:
            raise ValueError(
                f"n_prb={self.n_prb}, n_symbols={self.n_symbols} at MCS {mcs} gives a "
                f"{a.tb_size}-bit transport block; the allocation is too small for one TB"
            )
        return a

    def link_adapter(self):
        """A fresh :class:`channel.nr.link_adaptation.LinkAdapter` (initial state)."""
        from channel.nr.link_adaptation import LinkAdapter

        return LinkAdapter(
            self.link_adaptation,
            mcs_index=self.mcs_index,
            mcs_table=self.mcs_table,
            snr_db=self.snr_db,
            n_data_re=self.allocation().n_data_re,
            bler_target=self.bler_target,
            delta_up_db=self.olla_delta_up_db,
        )

    def fading(self):
        from channel.nr.fading import DEFAULT_DELAY_SPREAD_S, Fading

        ds = DEFAULT_DELAY_SPREAD_S if self.delay_spread_s is None else self.delay_spread_s
        return Fading(
            self.model,
            speed_mps=self.speed,
            delay_spread_s=ds,
            carrier_hz=self.carrier_hz,
            subcarrier_spacing_hz=self.subcarrier_spacing_hz,
            n_subcarriers=12 * self.n_prb,
            slot_s=self.slot_s,
        )

    # -- interface -------------------------------------------------------------------
    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        return self._send(packets, seed, self.link_adapter())

    def stream(self, seed: int) -> NRStream:
        """Images in order through one link-adaptation state (OLLA's offset carries)."""
        return NRStream(self, seed)

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        """REs of the first transmissions at the MCS the initial state selects."""
        from channel.nr.allocation import segment

        packets = self._start(packets, 0)
        alloc = self.allocation(self.link_adapter().select())
        seg = segment(np.array([len(p) for p in packets], dtype=np.int64), alloc.tb_size)
        return float(seg.n_tb * alloc.n_re)

    def capacity_per_use(self) -> float:
        """Shannon capacity per RE: AWGN; ergodic Rayleigh for the NLoS fading models;
        the AWGN value (an upper bound, Jensen) for the LoS ones (D, E)."""
        from channel.capacity import rayleigh_capacity, shannon_capacity

        if self.model == "awgn" or is_los(self.model):
            return float(shannon_capacity(self.snr_db))
        return rayleigh_capacity(self.snr_db)

    # -- one image -------------------------------------------------------------------
    def _send(self, packets: list[bytes], seed: int, adapter) -> Delivery:
        from channel.nr.allocation import segment
        from channel.nr.harq import run_harq

        offset_start = adapter.offset_db
        lengths = np.array([len(p) for p in packets], dtype=np.int64)
        total = int(8 * lengths.sum())
        left = [max(total, 1) if packets else 0]
        allocs: list = []  # the grant (MCS) of each TB, in creation order

        def new_tb() -> bool:
            if left[0] <= 0:
                return False
            a = self.allocation(adapter.select())
            allocs.append(a)
            left[0] -= a.tb_size
            return True

        if self.mode == "abstract":
            from channel.nr.abstract_decode import AbstractDecoder

            dec = AbstractDecoder(self, seed)
        else:
            from channel.nr.link import LinkDecoder

            dec = LinkDecoder(self, seed, packets)

        first = self.allocation(adapter.select())
        n_first = -(-max(total, 1) // first.tb_size) if packets else 0
        # realisation length: exact without HARQ at a fixed MCS, a guess otherwise (the
        # decoder extends the same realisation when more slots are needed)
        slack = 1.25 if self.link_adaptation == "olla" else 1.0
        dec.reserve(int(slack * n_first) + self.harq_rtt_slots * (self.harq_max_tx - 1))

        def decode(slots: np.ndarray, tbs: np.ndarray, tx_index: np.ndarray) -> np.ndarray:
            ok = dec(slots, tbs, tx_index, allocs)
            adapter.update(ok[tx_index == 0].tolist())  # feedback, in slot order
            return ok

        window = self.harq_rtt_slots if self.link_adaptation == "olla" else None
        res = run_harq(new_tb, self.harq_max_tx, self.harq_rtt_slots, decode, window)
        sizes = np.array([a.tb_size for a in allocs], dtype=np.int64)
        seg = segment(lengths, sizes)
        failed = seg.packet_failed(~res.ok)
        if self.mode == "link":
            out = dec.received(packets, failed)
        else:
            out = [None if f else p for p, f in zip(packets, failed, strict=True)]
        tx_alloc = [allocs[t] for t in res.tx_tb.tolist()]
        n_tx = res.n_transmissions
        slot_s = self.slot_s
        mcs = np.array([a.mcs_index for a in allocs], dtype=np.int64)
        packet_tx = (
            [
                int(res.n_tx[a : b + 1].max())
                for a, b in zip(seg.first_tb.tolist(), seg.last_tb.tolist(), strict=True)
            ]
            if seg.n_tb
            else [0] * len(packets)
        )
        stats: dict[str, Any] = {
            "mcs_index": int(mcs[0]) if mcs.size else None,
            "mcs_mean": float(mcs.mean()) if mcs.size else None,
            "tb_mcs": mcs.tolist(),
            "mcs_table": self.mcs_table,
            "bits_per_symbol": allocs[0].bits_per_symbol if allocs else None,
            "code_rate": allocs[0].code_rate if allocs else None,
            "tb_size": allocs[0].tb_size if allocs else None,
            "tb_count": int(seg.n_tb),
            "padding_bits": int(seg.padding_bits),
            "harq_transmissions": int(n_tx),
            "first_tx_bler": float(np.mean(~res.first_ok)) if seg.n_tb else 0.0,
            "residual_bler": float(np.mean(~res.ok)) if seg.n_tb else 0.0,
            "block_errors": int(np.sum(~res.ok)),
            "slots": res.n_slots,
            "lost": int(sum(p is None for p in out)),
            "packet_transmissions": packet_tx,
            "packet_completion_slot": seg.packet_slot(res.done_slot).tolist()
            if seg.n_tb
            else [0] * len(packets),
            "olla_offset_db": offset_start,
            "olla_offset_end_db": adapter.offset_db,
            **dec.stats(),
        }
        return Delivery(
            out,
            bits_on_air=int(sum(a.num_coded_bits for a in tx_alloc)),
            airtime_s=n_tx * slot_s,
            latency_s=res.n_slots * slot_s + self.delay_s,
            stats=stats,
            channel_uses=float(sum(a.n_re for a in tx_alloc)),
        )


def _first_tx_in_order(res) -> list[bool]:
    """First-transmission outcomes in slot order (what OLLA hears, in order)."""
    first = res.tx_index == 0
    return res.tx_ok[first].tolist()


class NRStream(ChannelStream):
    """One row's images through :class:`NR` in order: the link adapter (OLLA offset)
    carries from one image to the next; each image's fading and draws come from its
    own ``seed`` (images are far apart in time: independent realisations), so with
    ``link_adaptation="fixed"`` a stream gives exactly what :meth:`NR.transmit` gives."""

    def __init__(self, channel: NR, seed: int) -> None:
        super().__init__(channel)
        self.seed = seed
        self.adapter = channel.link_adapter()

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        ch: NR = self.channel  # type: ignore[assignment]
        packets = ch._start(packets, seed)
        return ch._send(packets, seed, self.adapter)
