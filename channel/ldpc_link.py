"""Bit-true coded link for one code block size: CRC24A, 5G NR LDPC with rate matching,
Gray QAM, AWGN or Rayleigh block fading with perfect-CSI equalisation, APP demapping,
belief-propagation decoding, CRC check. All blocks are Sionna PHY blocks
(``sionna.phy.fec.crc``, ``sionna.phy.fec.ldpc``, ``sionna.phy.mapping``,
``sionna.phy.channel``), imported lazily when a :class:`LinkSimulator` is built.

Block geometry (:func:`block_geometry`): ``k_payload`` payload bits + 24 CRC bits are
LDPC-encoded (``k = k_payload + 24``) into ``n`` coded bits, ``n`` the multiple of the
bits per symbol nearest to ``k / code_rate``; 5G rate matching (puncturing,
shortening, bit interleaving for the modulation) is the encoder's own.

Code rates below 1/5 (the low-spectral-efficiency MCSs, 5G NR TS 38.214 Table
5.1.3.1-3 goes down to 30/1024): Sionna's ``LDPC5GEncoder`` refuses ``k / n < 1/5``
("outer rep. coding currently not supported"), so the block is encoded at the lowest
rate it supports, ``n_mother = m * floor(5 k / m)`` coded bits (BG2, rate ~1/5), and
the ``n`` bits on air repeat that codeword cyclically: bit ``j`` of the transmission is
bit ``j mod n_mother`` of the rate-1/5 codeword (as 5G rate matching reads its
circular buffer past its end, here from a buffer of ``n_mother`` instead of the
``N_cb - fillers`` bits of TS 38.212 5.4.2.1: the last 256 of 1536 (k = 256) or 64 of
5184 (k = 1024) parity bits of the full buffer are never sent). The receiver adds the
LLRs of all copies of a bit before decoding (maximum-ratio combining: the copies see
independent noise and, under block fading, the same known gain, so their LLRs add
exactly). Sionna's decoder also has an HARQ mode (``harq_mode=True``, redundancy
versions 0-3), which combines retransmissions, not rate matching below 1/5.

SNR is Es/N0 per channel symbol (unit-energy constellation, noise power ``N0`` per
complex symbol). Rayleigh fading is *block* fading: one ``h ~ CN(0, 1)`` per code
block, known at the receiver, which equalises ``y / h`` and demaps with noise
``N0 / |h|^2``, i.e. the block sees an AWGN channel at SNR ``|h|^2 * Es/N0``.

Randomness comes only from the ``torch.Generator`` passed in (Sionna's global RNG is
not used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch

from channel.mcs import MCS

__all__ = [
    "CRC_BITS",
    "MIN_LDPC_RATE",
    "BlockGeometry",
    "block_geometry",
    "LinkSimulator",
    "get_simulator",
]

#: CRC24A (TS 38.212) appended to every code block
CRC_BITS = 24
#: lowest code rate Sionna's 5G LDPC encoder supports (BG2 mother code); lower MCS
#: rates repeat its codeword
MIN_LDPC_RATE = 0.2


@dataclass(frozen=True)
class BlockGeometry:
    """Sizes of one code block.

    :param k_payload: payload bits carried by the block.
    :param k: LDPC information bits (payload + CRC).
    :param n: coded bits on air after rate matching (multiple of bits per symbol).
    :param n_symbols: channel symbols per block.
    :param n_mother: LDPC codeword bits before repetition (``n`` unless the code rate is
        below 1/5, then ``m * floor(5 k / m)``).
    """

    k_payload: int
    k: int
    n: int
    n_symbols: int
    n_mother: int

    @property
    def effective_rate(self) -> float:
        return self.k / self.n

    @property
    def repetition(self) -> float:
        """Mean number of times each LDPC codeword bit is sent (1 at rates >= 1/5)."""
        return self.n / self.n_mother


def block_geometry(mcs: MCS, k_payload: int) -> BlockGeometry:
    """Code block sizes for ``k_payload`` payload bits at ``mcs``."""
    if k_payload < 1:
        raise ValueError(f"k_payload must be >= 1, got {k_payload}")
    k = k_payload + CRC_BITS
    if k > 8448:
        raise ValueError(f"k_payload + {CRC_BITS} must be <= 8448 (5G LDPC), got {k}")
    m = mcs.bits_per_symbol
    n_symbols = max(1, round(k / mcs.code_rate / m))
    while k / (n_symbols * m) > 0.95:
        n_symbols += 1
    n = n_symbols * m
    n_mother = n if k / n >= MIN_LDPC_RATE else m * math.floor(k / MIN_LDPC_RATE / m)
    return BlockGeometry(k_payload=k_payload, k=k, n=n, n_symbols=n_symbols, n_mother=n_mother)


class LinkSimulator:
    """Sionna bit-true chain for one (MCS, block size).

    :param mcs: modulation and code rate.
    :param k_payload: payload bits per code block (CRC24A added on top).
    :param num_iter: belief-propagation iterations of the LDPC decoder.
    """

    def __init__(self, mcs: MCS, k_payload: int, num_iter: int = 20) -> None:
        from sionna.phy.channel import AWGN
        from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
        from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
        from sionna.phy.mapping import Constellation, Demapper, Mapper

        class _SeededAWGN(AWGN):
            """Sionna's AWGN block drawing from a generator we own."""

            generator: torch.Generator | None = None

            @property
            def torch_rng(self) -> torch.Generator:  # type: ignore[override]
                return self.generator

        self.mcs = mcs
        self.geometry = block_geometry(mcs, k_payload)
        self.num_iter = num_iter
        g = self.geometry
        m = mcs.bits_per_symbol
        if m == 1:
            const = Constellation("pam", 1, device="cpu")
        else:
            const = Constellation("qam", m, device="cpu")
        self._crc_enc = CRCEncoder("CRC24A", k=g.k_payload, device="cpu")
        self._crc_dec = CRCDecoder(self._crc_enc, device="cpu")
        self._enc = LDPC5GEncoder(g.k, g.n_mother, num_bits_per_symbol=m, device="cpu")
        # transmitted bit j carries codeword bit j mod n_mother (cyclic repetition)
        self._rep_index = torch.arange(g.n) % g.n_mother if g.n > g.n_mother else None
        self._dec = LDPC5GDecoder(self._enc, num_iter=num_iter, hard_out=True, device="cpu")
        self._mapper = Mapper(constellation=const, device="cpu")
        self._demapper = Demapper("app", constellation=const, device="cpu")
        self._awgn = _SeededAWGN(device="cpu")

    @torch.no_grad()
    def run(
        self,
        bits: torch.Tensor,
        esn0_db: float,
        fading: Literal["awgn", "rayleigh"],
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Send code blocks through the chain.

        :input bits: [B, k_payload] float32 0/1 payload bits.
        :output bits_hat: [B, k_payload] float32 decoded payload bits.
        :output crc_ok: [B] bool, CRC check passed.
        :output block_snr_db: [B] float64, SNR each block saw (Es/N0 for AWGN).
        """
        batch = bits.shape[0]
        no = 10.0 ** (-esn0_db / 10.0)
        c = self._enc(self._crc_enc(bits))  # [B, n_mother]
        if self._rep_index is not None:
            c = c[:, self._rep_index]  # [B, n]
        x = self._mapper(c)  # [B, n_symbols] complex64
        self._awgn.generator = generator
        if fading == "rayleigh":
            h = torch.complex(
                torch.randn(batch, 1, generator=generator),
                torch.randn(batch, 1, generator=generator),
            ) / math.sqrt(2.0)
            y = self._awgn(h * x, no) / h  # perfect-CSI zero-forcing
            gain = (h.abs() ** 2).clamp_min(1e-12)
            no_eff = (no / gain).to(torch.float32)  # [B, 1], broadcast over symbols
            block_snr_db = (esn0_db + 10.0 * torch.log10(gain[:, 0])).double().numpy()
        else:
            y = self._awgn(x, no)
            no_eff = torch.tensor(no, dtype=torch.float32)
            block_snr_db = np.full(batch, esn0_db, dtype=np.float64)
        llr = self._demapper(y, no_eff)  # [B, n]
        if self._rep_index is not None:  # maximum-ratio combining of the copies
            llr = torch.zeros(batch, self.geometry.n_mother, dtype=llr.dtype).index_add_(
                1, self._rep_index, llr
            )
        bits_hat, crc_ok = self._crc_dec(self._dec(llr))
        return bits_hat, crc_ok.reshape(batch).bool(), block_snr_db


@lru_cache(maxsize=32)
def get_simulator(mcs: MCS, k_payload: int, num_iter: int = 20) -> LinkSimulator:
    """A cached :class:`LinkSimulator` (building one loads Sionna and the 5G base graphs)."""
    return LinkSimulator(mcs, k_payload, num_iter)
