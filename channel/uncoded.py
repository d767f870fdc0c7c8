"""Uncoded Gray QAM over AWGN or Rayleigh fading with hard decisions (no FEC, no CRC).

Packets arrive with bit errors, never lost. The packets' bits are concatenated, padded
with zero bits to whole symbols (padding counted on air), mapped, sent, sliced and cut
back into packets.

SNR: ``snr_type="esn0"`` reads ``snr_db`` as Es/N0 (per channel symbol; average over
the fading), ``"ebn0"`` as Eb/N0 with ``Es/N0 = Eb/N0 * bits_per_symbol``.

Rayleigh fading: ``h ~ CN(0, 1)``, known at the receiver, which equalises ``y / h``
(zero forcing), so a symbol sees SNR ``|h|^2 Es/N0``. ``coherence="symbol"`` draws an
independent ``h`` per symbol (ideal interleaving; the textbook Rayleigh BER applies),
``"packet"`` one ``h`` per packet (block fading; ``per_packet_snr_db`` is reported).

Channel cost: ``channel_uses`` = symbols on air = ``ceil(8 * bytes / m)`` (the zero
padding of the last symbol included); ``capacity_per_use`` is the AWGN or ergodic
Rayleigh capacity at Es/N0 (:func:`channel.capacity.capacity_per_use`).

The equalised output is simulated directly as ``x + n / h``, with ``n / h`` drawn as
``CN(0, N0 / |h|^2)`` (same distribution, no complex division), in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from channel.base import Channel
from channel.capacity import capacity_per_use
from channel.delivery import Delivery
from channel.modulation import (
    MODULATIONS,
    bits_per_symbol,
    bytes_to_labels,
    labels_to_bytes,
    labels_to_iq,
    slice_iq,
)
from channel.validate import (
    check_non_negative,
    check_one_of,
    check_packets,
    check_positive,
    check_snr_db,
)

__all__ = ["Uncoded"]

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


@dataclass(frozen=True)
class Uncoded(Channel):
    """Uncoded hard-decision link.

    :param modulation: one of ``bpsk, qpsk, 16qam, 64qam, 256qam`` (Gray labelled).
    :param snr_db: SNR in dB (finite), of the kind named by ``snr_type``.
    :param snr_type: ``"esn0"`` (per symbol) or ``"ebn0"`` (per bit).
    :param fading: ``"awgn"`` or ``"rayleigh"`` (perfect-CSI equalisation).
    :param coherence: Rayleigh only: ``"symbol"`` (i.i.d. per symbol) or ``"packet"``.
    :param symbol_rate_hz: channel symbols per second (airtime = symbols / rate).
    :param delay_s: propagation delay added to the latency.

    >>> d = Uncoded("16qam", snr_db=30.0).transmit([b"hello", b"world"], seed=0)
    >>> d.packets, d.stats["bit_errors"], d.bits_on_air
    ([b'hello', b'world'], 0, 80)
    """

    modulation: str
    snr_db: float
    snr_type: Literal["esn0", "ebn0"] = "esn0"
    fading: Literal["awgn", "rayleigh"] = "awgn"
    coherence: Literal["symbol", "packet"] = "symbol"
    symbol_rate_hz: float = 1e6
    delay_s: float = 0.0

    name: ClassVar[str] = "uncoded"

    def __post_init__(self) -> None:
        check_one_of("modulation", self.modulation, tuple(MODULATIONS))
        object.__setattr__(self, "snr_db", check_snr_db("snr_db", self.snr_db))
        check_one_of("snr_type", self.snr_type, ("esn0", "ebn0"))
        check_one_of("fading", self.fading, ("awgn", "rayleigh"))
        check_one_of("coherence", self.coherence, ("symbol", "packet"))
        object.__setattr__(
            self, "symbol_rate_hz", check_positive("symbol_rate_hz", self.symbol_rate_hz)
        )
        object.__setattr__(self, "delay_s", check_non_negative("delay_s", self.delay_s))

    @property
    def bits_per_symbol(self) -> int:
        return bits_per_symbol(self.modulation)

    @property
    def esn0_db(self) -> float:
        """Es/N0 in dB, whichever way ``snr_db`` was given."""
        if self.snr_type == "ebn0":
            return self.snr_db + 10.0 * math.log10(self.bits_per_symbol)
        return self.snr_db

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        """Symbols the packets occupy: ``ceil(8 * total bytes / bits_per_symbol)``."""
        n_bits = 8 * sum(len(p) for p in check_packets(packets))
        return float(-(-n_bits // self.bits_per_symbol))

    def capacity_per_use(self) -> float:
        """Shannon capacity (bits per complex use) at Es/N0, ergodic under Rayleigh."""
        return capacity_per_use(self.esn0_db, self.fading)

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        rng = np.random.default_rng(seed)
        m = self.bits_per_symbol
        lengths = np.array([len(p) for p in packets], dtype=np.int64)
        tx = np.frombuffer(b"".join(packets), dtype=np.uint8)
        n_bits = 8 * tx.size
        n_sym = -(-n_bits // m)  # symbols on air; the last one zero-padded
        labels = bytes_to_labels(tx, m)  # may hold a few extra all-padding symbols
        n_sim = labels.size
        no = 10.0 ** (-self.esn0_db / 10.0)
        stats: dict = {"symbols": n_sym, "padding_bits": n_sym * m - n_bits}

        # noise standard deviation per real dimension after equalisation: sqrt(N0/(2|h|^2))
        sigma: np.ndarray | np.float32 = np.float32(math.sqrt(no / 2.0))
        if self.fading == "rayleigh":
            if self.coherence == "symbol":
                gain = rng.standard_exponential(n_sim, dtype=np.float32)
            else:
                g_packet = rng.standard_exponential(len(packets))
                stats["per_packet_snr_db"] = self.esn0_db + 10.0 * np.log10(g_packet)
                ends = np.cumsum(8 * lengths)
                sym_packet = np.searchsorted(ends, np.arange(n_sim) * m, side="right")
                sym_packet = np.minimum(sym_packet, max(len(packets) - 1, 0))
                gain = g_packet.astype(np.float32)[sym_packet] if n_sim else np.zeros(0)
            sigma = np.sqrt(np.float32(no / 2.0) / np.maximum(gain, np.float32(1e-30)))

        re, im = labels_to_iq(labels, self.modulation)
        re += rng.standard_normal(n_sim, dtype=np.float32) * sigma
        if im is not None:
            im += rng.standard_normal(n_sim, dtype=np.float32) * sigma
        rx = labels_to_bytes(slice_iq(re, im, self.modulation), m, tx.size)

        err_bytes = _POPCOUNT[rx ^ tx]
        per_packet = np.bincount(
            np.repeat(np.arange(len(packets)), lengths), weights=err_bytes, minlength=len(packets)
        ).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        raw = rx.tobytes()
        out = [raw[offsets[i] : offsets[i + 1]] for i in range(len(packets))]
        airtime = n_sym / self.symbol_rate_hz
        stats["bit_errors"] = int(per_packet.sum())
        stats["ber"] = stats["bit_errors"] / n_bits if n_bits else 0.0
        stats["per_packet_bit_errors"] = per_packet
        return Delivery(
            out, n_sym * m, airtime, airtime + self.delay_s, stats, channel_uses=float(n_sym)
        )
