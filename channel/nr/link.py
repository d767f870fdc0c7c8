"""Link mode: bit-true PUSCH with Sionna's blocks, one batch of HARQ transmissions at a
time.

Per transmission: :class:`~sionna.phy.nr.PUSCHTransmitter` (TB CRC, LDPC, rate matching,
scrambling, QAM, layer and resource-grid mapping with DMRS) -> the image's channel
realisation (:mod:`channel.nr.fading`, the same one abstract mode sees) applied by
:class:`~sionna.phy.channel.ApplyOFDMChannel` with AWGN of ``N0 = 1/SNR`` per RE ->
:class:`~sionna.phy.nr.PUSCHReceiver`'s blocks: LS estimator at the DMRS with linear
interpolation, Sionna's PUSCH LMMSE estimator with the model's covariances
(``estimator="lmmse"``, :func:`channel.nr.abstraction.lmmse_estimator`), or the true
channel (``"perfect"``), LMMSE detection with
max-log LLRs, layer demapping, TB decoding (LDPC, ``num_iter`` iterations, CRC).

HARQ (Chase): every transmission of a TB repeats redundancy version 0, so the receiver
adds the LLRs of all transmissions so far before decoding (soft combining). IR is not
offered in link mode (Sionna's PUSCH transmitter sends redundancy version 0 only).

A TB whose CRC passes is ACKed and its decoded bits are kept; a packet is delivered with
those bits (an undetected error would deliver damaged bytes, as a real receiver would).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from channel.base import derive_seed

__all__ = ["LinkDecoder"]


@lru_cache(maxsize=16)
def _chain(n_prb, n_symbols, mcs_index, mcs_table, scs, dmrs_add, estimator, num_iter):
    """(transmitter, receiver) of one grant at one MCS (cached)."""
    from sionna.phy.nr import PUSCHReceiver, PUSCHTransmitter, TBDecoder

    from channel.nr.allocation import pusch_config

    cfg = pusch_config(
        n_prb=n_prb,
        n_symbols=n_symbols,
        mcs_index=mcs_index,
        mcs_table=mcs_table,
        subcarrier_spacing_hz=scs,
        dmrs_additional_position=dmrs_add,
    )
    tx = PUSCHTransmitter(cfg, return_bits=False)
    dec = TBDecoder(tx._tb_encoder, num_bp_iter=num_iter)
    rx = PUSCHReceiver(
        tx, channel_estimator="perfect" if estimator == "perfect" else None, tb_decoder=dec
    )
    return tx, rx


class LinkDecoder:
    """``decode(slots, tbs, tx_index, allocs) -> ok`` for :func:`channel.nr.harq.run_harq`,
    bit-true (see module docstring).

    :param ch: the :class:`channel.nr.NR` configuration.
    :param seed: the image's seed (fading ``derive_seed(seed, 1)``, noise ``(seed, 2)``).
    :param packets: the image's packets (their bits are what the TBs carry).
    """

    def __init__(self, ch, seed: int, packets: list[bytes]) -> None:
        import torch
        from sionna.phy.channel import AWGN, ApplyOFDMChannel

        from channel.nr.fading import _owned

        self.ch = ch
        self.fading = ch.fading()
        self.fading_seed = derive_seed(seed, 1)
        self.h = np.zeros((0, 14, 12 * ch.n_prb), dtype=np.complex64)
        data = b"".join(packets)
        self.bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        self.no = 10.0 ** (-ch.snr_db / 10.0)
        self.apply = ApplyOFDMChannel()
        self.apply._awgn = _owned(AWGN)()
        self.apply._awgn.generator = torch.Generator().manual_seed(derive_seed(seed, 2))
        self.llr: dict[int, object] = {}
        self.decoded: dict[int, np.ndarray] = {}
        self.tb_start: list[int] = [0]

    def reserve(self, n_slots: int) -> None:
        self._ensure(n_slots)

    def _ensure(self, n_slots: int) -> None:
        if n_slots > len(self.h):
            n = max(n_slots, 2 * len(self.h), 8)
            self.h = self.fading.response(self.fading_seed, n)

    def _tb_bits(self, tb: int, allocs: list) -> np.ndarray:
        while len(self.tb_start) <= tb + 1:
            self.tb_start.append(self.tb_start[-1] + allocs[len(self.tb_start) - 1].tb_size)
        a, b = self.tb_start[tb], self.tb_start[tb + 1]
        out = np.zeros(b - a, dtype=np.float32)
        chunk = self.bits[a:b]
        out[: len(chunk)] = chunk
        return out

    def __call__(
        self, slots: np.ndarray, tbs: np.ndarray, tx_index: np.ndarray, allocs: list
    ) -> np.ndarray:
        import torch

        ch = self.ch
        self._ensure(int(slots.max()) + 1)
        ok = np.zeros(len(slots), dtype=bool)
        mcs = np.array([allocs[t].mcs_index for t in tbs.tolist()])
        for m in np.unique(mcs).tolist():
            sel = np.flatnonzero(mcs == m)
            tx, rx = _chain(
                ch.n_prb,
                ch.n_symbols,
                m,
                ch.mcs_table,
                ch.subcarrier_spacing_hz,
                ch.dmrs_additional_position,
                ch.estimator,
                ch.num_iter,
            )
            group = tbs[sel].tolist()
            b = torch.from_numpy(np.stack([self._tb_bits(t, allocs) for t in group]))
            with torch.no_grad():
                x = tx(b[:, None, :])
                h = torch.from_numpy(self.h[slots[sel]])[:, None, None, None, None]
                no = torch.tensor(self.no, dtype=torch.float32)
                y = self.apply(x, h, no)
                if ch.estimator == "perfect":
                    h_hat, err_var = h, torch.zeros(1)
                elif ch.estimator == "lmmse":
                    h_hat, err_var = self._lmmse(m)(y, no)
                else:
                    h_hat, err_var = rx._channel_estimator(y, no)
                llr = rx._layer_demapper(rx._mimo_detector(y, h_hat, err_var, no))
                for j, t in enumerate(group):  # Chase: add the LLRs of earlier copies
                    if t in self.llr:
                        llr[j] = llr[j] + self.llr[t]
                    self.llr[t] = llr[j].clone()
                b_hat, crc = rx._tb_decoder(llr)
            crc = crc.reshape(-1).numpy().astype(bool)
            ok[sel] = crc
            for j, t in enumerate(group):
                if crc[j]:
                    self.decoded[t] = b_hat[j].reshape(-1).numpy().astype(np.uint8)
                    self.llr.pop(t, None)
        return ok

    def _lmmse(self, mcs: int):
        """Sionna's PUSCH LMMSE estimator with the model covariances (as in abstract)."""
        from channel.nr.abstraction import lmmse_estimator, pusch_grid

        ch = self.ch
        grid = pusch_grid(
            ch.n_prb,
            ch.n_symbols,
            mcs,
            ch.mcs_table,
            ch.subcarrier_spacing_hz,
            ch.dmrs_additional_position,
        )
        return lmmse_estimator(grid, self.fading)

    def received(self, packets: list[bytes], failed: np.ndarray) -> list[bytes | None]:
        """Packets rebuilt from the decoded TB bits (None where a TB failed)."""
        if not self.decoded:
            return [None] * len(packets)
        n = len(self.tb_start) - 1
        stream = np.concatenate(
            [
                self.decoded.get(t, np.zeros(self.tb_start[t + 1] - self.tb_start[t], np.uint8))
                for t in range(n)
            ]
        )
        out: list[bytes | None] = []
        pos = 0
        for p, f in zip(packets, failed.tolist(), strict=True):
            k = 8 * len(p)
            out.append(None if f else np.packbits(stream[pos : pos + k]).tobytes())
            pos += k
        return out

    def stats(self) -> dict:
        wrong = 0
        for t, bits in self.decoded.items():
            a, b = self.tb_start[t], self.tb_start[t + 1]
            ref = np.zeros(b - a, dtype=np.uint8)
            chunk = self.bits[a:b]
            ref[: len(chunk)] = chunk
            wrong += int((bits != ref).any())
        return {"undetected_tb_errors": wrong}
