"""Coded digital PHY: CRC + 5G NR LDPC + Gray QAM over AWGN or Rayleigh block fading.

Each packet is cut into code blocks of ``block_payload_bits`` payload bits (the last one
zero-padded; padding is sent and counted), each block gets a CRC24A and is LDPC-encoded
with 5G rate matching to ``n`` coded bits (:func:`channel.ldpc_link.block_geometry`;
code rates below 1/5, the low-spectral-efficiency MCSs, repeat the rate-1/5 codeword
and combine the copies' LLRs, :mod:`channel.ldpc_link`).
A packet is lost (``None``) when any of its blocks fails its CRC; in link mode a block
whose CRC passes despite bit errors (undetected error) delivers the damaged bytes.

Modes:

- ``"link"``: bit-true with Sionna PHY blocks (:class:`channel.ldpc_link.LinkSimulator`);
  slow (~0.02-0.05 Mbit/s on 2 CPU cores), for validation and table building.
- ``"abstract"``: each block is lost with probability BLER(block SNR) read from the
  shipped curves (:mod:`channel.bler_table`), built by ``python -m channel.tables`` from
  the same link-mode chain over AWGN.

SNR: ``snr_db`` is Es/N0 per channel symbol (``snr_type="esn0"``, mean over the fading)
or Eb/N0 per coded-block information bit (``"ebn0"``: ``Es/N0 = Eb/N0 + 10 log10(m R)``).
Rayleigh is block fading: one ``h ~ CN(0, 1)`` per code block with perfect-CSI
equalisation, so a block sees AWGN at ``Es/N0 + 10 log10 |h|^2``; abstract mode draws
``|h|^2 ~ Exp(1)`` per block and uses the AWGN curve at that SNR.

Adaptive MCS (``adaptive=True``): the transmitter knows the mean SNR (not the fades)
and picks the highest-spectral-efficiency tabled MCS whose predicted error probability
of a *unit* is at most ``bler_target``:

- ``target_unit="packet"`` (default): every packet, ``1 - (1 - p)**B_j`` with ``B_j``
  the code blocks of packet ``j`` (the largest packet decides);
- ``"image"``: all packets of one :meth:`CodedPhy.transmit` call together (one image),
  ``1 - (1 - p)**sum_j B_j``;
- ``"block"``: one code block, ``p`` (what a block-level BLER target means; a packet
  of many blocks then fails far more often than the target).

``p`` is the table's block error rate at the mean Es/N0 (AWGN) or averaged over the
Rayleigh block fading (blocks fade independently, so the product form holds for the
fading-averaged ``p``). If no MCS meets the target, the most robust one is used and
``stats["bler_target_met"]`` is False. ``stats`` records the choice and the predicted
``predicted_bler`` (block), ``predicted_packet_error`` (largest packet) and
``predicted_image_error``.

Channel cost: ``Delivery.channel_uses`` counts every complex symbol on air (payload,
CRC, coding, repetition and padding of the last block): ``blocks * n_symbols``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np

from channel.base import Channel
from channel.bler_table import load_table
from channel.capacity import rayleigh_capacity, shannon_capacity
from channel.delivery import Delivery
from channel.ldpc_link import CRC_BITS, BlockGeometry, block_geometry
from channel.mcs import MCS, MCS_ORDER, MCS_TABLE, mcs_index, resolve_mcs
from channel.validate import (
    check_non_negative,
    check_one_of,
    check_positive,
    check_probability,
    check_snr_db,
)

__all__ = ["CodedPhy", "select_mcs", "TARGET_UNITS", "blocks_per_packet"]

#: what an adaptive-MCS ``bler_target`` applies to (see module docstring)
TARGET_UNITS = ("packet", "image", "block")


def blocks_per_packet(packets: list[bytes], block_payload_bits: int) -> np.ndarray:
    """[P] code blocks of each packet: ``max(1, ceil(8 len / block_payload_bits))``."""
    lengths = np.array([len(p) for p in packets], dtype=np.int64)
    return np.maximum(1, -(-8 * lengths // block_payload_bits))


def select_mcs(
    mean_esn0_db: float,
    *,
    block_payload_bits: int,
    fading: str = "awgn",
    bler_target: float = 0.1,
    blocks: int = 1,
) -> tuple[int, float, bool]:
    """``(mcs index, predicted unit error, target met)``: the highest-spectral-efficiency
    tabled MCS whose predicted error of a unit of ``blocks`` code blocks,
    ``1 - (1 - BLER)**blocks`` (BLER at the mean Es/N0, fading-averaged for Rayleigh),
    is <= ``bler_target``; else the most robust tabled MCS."""
    if isinstance(blocks, bool) or not isinstance(blocks, int | np.integer) or blocks < 1:
        raise ValueError(f"blocks must be an int >= 1, got {blocks!r}")
    return _select(float(mean_esn0_db), block_payload_bits, fading, float(bler_target), int(blocks))


@lru_cache(maxsize=4096)
def _select(
    mean_esn0_db: float, block_payload_bits: int, fading: str, bler_target: float, blocks: int
) -> tuple[int, float, bool]:
    table = load_table(block_payload_bits)
    order = [i for i in MCS_ORDER if i in table.curves]
    predicted = {}
    for i in reversed(order):
        p = _block_error(table, i, mean_esn0_db, fading)
        predicted[i] = float(-np.expm1(int(blocks) * np.log1p(-min(p, 1.0 - 1e-16))))
        if predicted[i] <= bler_target:
            return i, predicted[i], True
    return order[0], predicted[order[0]], False


def _block_error(table, idx: int, esn0_db: float, fading: str) -> float:
    if fading == "rayleigh":
        return table.bler_rayleigh(idx, esn0_db)
    return float(table.bler(idx, esn0_db))


@dataclass(frozen=True)
class CodedPhy(Channel):
    """CRC + 5G LDPC + QAM link, bit-true (``mode="link"``) or abstracted (``"abstract"``).

    :param mcs: an index into :data:`channel.mcs.MCS_TABLE`, a ``(modulation,
        code_rate)`` pair, or None with ``adaptive=True`` (an explicit ``mcs`` together
        with ``adaptive=True`` is refused: the MCS would be ignored).
    :param snr_db: SNR in dB (finite), see ``snr_type``.
    :param fading: ``"awgn"`` or ``"rayleigh"`` (block fading per code block).
    :param mode: ``"link"`` (Sionna, bit-true) or ``"abstract"`` (BLER tables).
    :param adaptive: choose the MCS from the SNR (tables needed in both modes).
    :param bler_target: adaptive-MCS target error probability in (0, 1), of a
        ``target_unit``.
    :param target_unit: ``"packet"`` (default), ``"image"`` or ``"block"``: what
        ``bler_target`` bounds (module docstring).
    :param snr_type: ``"esn0"`` or ``"ebn0"`` (not with ``adaptive``).
    :param block_payload_bits: payload bits per code block (CRC24 added); abstract mode
        and adaptive MCS need a shipped table for it (1000 and 232).
    :param symbol_rate_hz: channel symbols per second (airtime = symbols / rate).
    :param delay_s: propagation delay added to the latency.
    :param num_iter: LDPC belief-propagation iterations (link mode; tables use 20).

    >>> ch = CodedPhy(1, snr_db=10.0, mode="abstract", block_payload_bits=232)
    >>> d = ch.transmit([bytes(29)] * 4, seed=0)  # 29 bytes = one 232-bit block each
    >>> d.n_lost, d.stats["blocks"], d.bits_on_air, d.channel_uses
    (0, 4, 2048, 1024.0)
    >>> ch.planned_channel_uses([bytes(29)] * 4), round(ch.capacity_per_use(), 3)
    (1024.0, 3.459)
    """

    mcs: int | tuple[str, float] | None
    snr_db: float
    fading: Literal["awgn", "rayleigh"] = "awgn"
    mode: Literal["link", "abstract"] = "abstract"
    adaptive: bool = False
    bler_target: float = 0.1
    target_unit: Literal["packet", "image", "block"] = "packet"
    snr_type: Literal["esn0", "ebn0"] = "esn0"
    block_payload_bits: int = 1000
    symbol_rate_hz: float = 1e6
    delay_s: float = 0.0
    num_iter: int = 20

    name: ClassVar[str] = "coded_phy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "snr_db", check_snr_db("snr_db", self.snr_db))
        check_one_of("fading", self.fading, ("awgn", "rayleigh"))
        check_one_of("mode", self.mode, ("link", "abstract"))
        check_one_of("snr_type", self.snr_type, ("esn0", "ebn0"))
        check_one_of("adaptive", self.adaptive, (False, True))
        check_one_of("target_unit", self.target_unit, TARGET_UNITS)
        target = check_probability("bler_target", self.bler_target)
        if not 0.0 < target < 1.0:
            raise ValueError(f"bler_target must lie in (0, 1), got {target}")
        object.__setattr__(
            self, "symbol_rate_hz", check_positive("symbol_rate_hz", self.symbol_rate_hz)
        )
        object.__setattr__(self, "delay_s", check_non_negative("delay_s", self.delay_s))
        kp = self.block_payload_bits
        if isinstance(kp, bool) or not isinstance(kp, int) or not 1 <= kp <= 8448 - CRC_BITS:
            raise ValueError(
                f"block_payload_bits must be an int in [1, {8448 - CRC_BITS}], got {kp!r}"
            )
        if isinstance(self.num_iter, bool) or not isinstance(self.num_iter, int):
            raise TypeError(f"num_iter must be an int, got {self.num_iter!r}")
        if self.num_iter < 1:
            raise ValueError(f"num_iter must be >= 1, got {self.num_iter}")
        if isinstance(self.mcs, list):
            object.__setattr__(self, "mcs", tuple(self.mcs))
        if self.adaptive:
            if self.mcs is not None:
                raise ValueError(
                    f"mcs={self.mcs!r} contradicts adaptive=True (the MCS is chosen from "
                    "the SNR): pass mcs=None to adapt, or adaptive=False to fix the MCS"
                )
            if self.snr_type != "esn0":
                raise ValueError(
                    "snr_type must be 'esn0' with adaptive=True (Eb/N0 depends on the MCS)"
                )
            load_table(kp)  # ValueError listing available sizes
        else:
            if self.mcs is None:
                raise ValueError("mcs is required unless adaptive=True")
            fixed = resolve_mcs(self.mcs)
            block_geometry(fixed, kp)
            if self.mode == "abstract":
                idx = mcs_index(fixed)
                if idx is None:
                    raise ValueError(
                        f"mcs {fixed.label} has no BLER table; abstract mode supports "
                        f"{', '.join(f'{i}={m.label}' for i, m in enumerate(MCS_TABLE))}"
                    )
                load_table(kp).curve(idx)

    # -- configuration -------------------------------------------------------------
    def _esn0_db(self, mcs: MCS) -> float:
        if self.snr_type == "ebn0":
            return self.snr_db + 10.0 * math.log10(mcs.spectral_efficiency)
        return self.snr_db

    def _unit_blocks(self, packets: list[bytes] | None) -> int:
        """Code blocks of the unit the adaptive target applies to (1 without packets)."""
        if packets is None or not packets or self.target_unit == "block":
            return 1
        nb = blocks_per_packet(packets, self.block_payload_bits)
        return int(nb.max() if self.target_unit == "packet" else nb.sum())

    def current_mcs(self, packets: list[bytes] | None = None) -> tuple[MCS, dict[str, Any]]:
        """The MCS used for ``packets`` and adaptive-selection info (empty when fixed).

        Without ``packets`` the adaptive choice is the one for a single code block
        (the least demanding unit; what :func:`channel.capacity.check_capacity` uses)."""
        if not self.adaptive:
            return resolve_mcs(self.mcs), {}
        blocks = self._unit_blocks(packets)
        idx, predicted, met = select_mcs(
            self.snr_db,
            block_payload_bits=self.block_payload_bits,
            fading=self.fading,
            bler_target=self.bler_target,
            blocks=blocks,
        )
        return MCS_TABLE[idx], {
            "target_unit": self.target_unit,
            "target_unit_blocks": blocks,
            "predicted_unit_error": predicted,
            "bler_target_met": met,
        }

    def geometry(self, packets: list[bytes] | None = None) -> BlockGeometry:
        return block_geometry(self.current_mcs(packets)[0], self.block_payload_bits)

    def info_bits_per_symbol(self) -> float:
        """Payload bits per channel symbol of one code block (CRC and padding excluded)."""
        g = self.geometry()
        return g.k_payload / g.n_symbols

    def expected_bler(self, packets: list[bytes] | None = None) -> float:
        """Block error rate predicted by the tables at this SNR (AWGN or fading mean)."""
        mcs, _ = self.current_mcs(packets)
        idx = mcs_index(mcs)
        if idx is None:
            raise ValueError(f"mcs {mcs.label} has no BLER table")
        return _block_error(
            load_table(self.block_payload_bits), idx, self._esn0_db(mcs), self.fading
        )

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        """Complex symbols that sending ``packets`` once occupies: code blocks (CRC,
        coding, padding included) times symbols per block, at the MCS chosen for them."""
        packets = self._start(packets, 0)
        nb = blocks_per_packet(packets, self.block_payload_bits)
        return float(nb.sum() * self.geometry(packets).n_symbols)

    def capacity_per_use(self) -> float:
        """Shannon capacity (bits per complex use) at the link's Es/N0: AWGN
        ``log2(1 + SNR)``, Rayleigh the ergodic ``E[log2(1 + g SNR)]``."""
        esn0 = self._esn0_db(self.current_mcs()[0])
        if self.fading == "rayleigh":
            return rayleigh_capacity(esn0)
        return float(shannon_capacity(esn0))

    # -- transmission ---------------------------------------------------------------
    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        mcs, info = self.current_mcs(packets)
        geo = block_geometry(mcs, self.block_payload_bits)
        esn0 = self._esn0_db(mcs)
        kp = geo.k_payload
        lengths = np.array([len(p) for p in packets], dtype=np.int64)
        n_blocks = blocks_per_packet(packets, kp)
        block_packet = np.repeat(np.arange(len(packets)), n_blocks)
        total = int(n_blocks.sum())

        if self.mode == "abstract":
            rng = np.random.default_rng(seed)
            curve = load_table(kp).curve(mcs_index(mcs))
            if self.fading == "rayleigh":
                block_snr = esn0 + 10.0 * np.log10(rng.standard_exponential(total))
                failed = rng.random(total) < curve(block_snr)
            else:
                block_snr = None  # every block sees esn0
                failed = rng.random(total) < float(curve(esn0))
            lost = self._lost(failed, block_packet, len(packets))
            out = [None if gone else p for p, gone in zip(packets, lost, strict=True)]
            n_lost = sum(lost)
            bit_errors = undetected = 0
        else:
            out, failed, block_snr, bit_errors, undetected = self._link(
                packets, lengths, n_blocks, mcs, geo, esn0, seed
            )
            n_lost = sum(p is None for p in out)

        symbols = total * geo.n_symbols
        airtime = symbols / self.symbol_rate_hz
        per_packet_snr = np.full(len(packets), esn0)
        if total and block_snr is not None and self.fading == "rayleigh":
            per_packet_snr = np.minimum.reduceat(
                block_snr, np.concatenate([[0], np.cumsum(n_blocks)[:-1]])
            )
        stats = {
            "mcs": [mcs.modulation, mcs.code_rate],
            "mcs_index": mcs_index(mcs),
            "esn0_db": esn0,
            "blocks": total,
            "block_errors": int(failed.sum()),
            "bler": float(failed.mean()) if total else 0.0,
            "lost": int(n_lost),
            "bit_errors": bit_errors,
            "undetected_block_errors": undetected,
            "symbols": symbols,
            "padding_bits": int(total * kp - 8 * lengths.sum()),
            "crc_bits": total * CRC_BITS,
            "info_bits_per_symbol": geo.k_payload / geo.n_symbols,
            "repetition": geo.repetition,
            "per_packet_snr_db": per_packet_snr,
            **self._predicted(mcs, esn0, n_blocks),
            **info,
        }
        return Delivery(
            out, total * geo.n, airtime, airtime + self.delay_s, stats, channel_uses=float(symbols)
        )

    def _predicted(self, mcs: MCS, esn0: float, n_blocks: np.ndarray) -> dict[str, float]:
        """Table-predicted block, worst-packet and image error probabilities (empty for
        an MCS or block size without a table)."""
        idx = mcs_index(mcs)
        try:
            table = load_table(self.block_payload_bits)
            table.curve(idx if idx is not None else -1)
        except ValueError:
            return {}
        p = min(_block_error(table, idx, esn0, self.fading), 1.0 - 1e-16)
        log_ok = np.log1p(-p)
        worst = int(n_blocks.max()) if n_blocks.size else 0
        return {
            "predicted_bler": p,
            "predicted_packet_error": float(-np.expm1(worst * log_ok)),
            "predicted_image_error": float(-np.expm1(int(n_blocks.sum()) * log_ok)),
        }

    @staticmethod
    def _lost(failed: np.ndarray, block_packet: np.ndarray, n_packets: int) -> list[bool]:
        return (np.bincount(block_packet, weights=failed, minlength=n_packets) > 0).tolist()

    def _link(self, packets, lengths, n_blocks, mcs, geo, esn0, seed):
        import torch

        from channel.ldpc_link import get_simulator

        kp = geo.k_payload
        total = int(n_blocks.sum())
        bits = np.zeros((total, kp), dtype=np.uint8)
        flat = bits.reshape(-1)
        starts = np.concatenate([[0], np.cumsum(n_blocks)[:-1]]) * kp
        for p, s in zip(packets, starts.tolist(), strict=True):
            b = np.unpackbits(np.frombuffer(p, dtype=np.uint8))
            flat[s : s + b.size] = b
        sim = get_simulator(mcs, kp, self.num_iter)
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.from_numpy(bits).float()
        hat, ok, snr = [], [], []
        batch = 64
        for i in range(0, total, batch):
            h, o, s = sim.run(x[i : i + batch], esn0, self.fading, gen)
            hat.append(h)
            ok.append(o)
            snr.append(s)
        bits_hat = torch.cat(hat).numpy().astype(np.uint8) if total else bits
        failed = ~torch.cat(ok).numpy() if total else np.zeros(0, dtype=bool)
        block_snr = np.concatenate(snr) if total else np.zeros(0)
        wrong = (bits_hat != bits).any(axis=1) & ~failed
        block_packet = np.repeat(np.arange(len(packets)), n_blocks)
        lost = self._lost(failed, block_packet, len(packets))
        flat_hat = bits_hat.reshape(-1)
        out: list[bytes | None] = []
        bit_errors = 0
        for p, s, n, gone in zip(packets, starts.tolist(), lengths.tolist(), lost, strict=True):
            if gone:
                out.append(None)
                continue
            rx = np.packbits(flat_hat[s : s + 8 * n]).tobytes()
            bit_errors += int(
                np.unpackbits(np.frombuffer(rx, np.uint8) ^ np.frombuffer(p, np.uint8)).sum()
            )
            out.append(rx)
        return out, failed, block_snr, bit_errors, int(wrong.sum())
