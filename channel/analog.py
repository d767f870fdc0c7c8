"""Analog transmission of a payload's vector values (graceful degradation).

What goes where:

- **analog**: the vector values (VQ centroids ``[K, D]``, subset kept vectors
  ``[k, D]`` or full vectors ``[N, D]``) as float32, row-major. They are power
  normalised by one global scale ``s = sqrt(mean(v^2))`` and sent two reals per complex
  symbol, ``x = (v[2i] + j v[2i+1]) / (s sqrt(2))`` (``E|x|^2 = 1``; an odd count gets
  one zero pad value). The receiver equalises with perfect CSI and rescales, so the
  values arrive as noisy floats: with zero forcing each value sees
  ``SNR_value = |h|^2 Es/N0`` (no cliff: error variance ``s^2 / (|h|^2 Es/N0)``).
- **digital side link** (reliable, idealised): the bytes of
  ``codec.encode_side_info(payload)`` (header + VQ indices / subset positions, CRC)
  plus the 4-byte float32 scale ``s``, at ``side_bits_per_symbol`` information bits
  per symbol (default 1.0, e.g. QPSK rate 1/2).

Airtime counts both: ``(analog_symbols + side_symbols) / symbol_rate_hz``.
``bits_on_air`` counts the side-link bits only (the analog part sends symbols, not
bits; see ``stats["analog_symbols"]``).

Fading: ``"rayleigh"`` draws an i.i.d. ``h ~ CN(0, 1)`` per symbol; ``equalizer="zf"``
divides by ``h`` (unbiased, but under Rayleigh its error variance ``E[1/|h|^2]`` is
infinite: deep fades dominate), ``"mmse"`` (default) uses ``conj(h) y / (|h|^2 + N0)``
(the linear MMSE estimate for unit-power values: shrinks towards 0, bounded error).
``snr_db`` is Es/N0 (mean over the fading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from channel.base import Channel
from channel.delivery import Delivery
from channel.validate import (
    check_finite,
    check_non_negative,
    check_one_of,
    check_positive,
    check_seed,
)

__all__ = ["Analog", "payload_values"]


def payload_values(payload: Any) -> torch.Tensor:
    """The vector values a payload sends analog: [rows, D] (centroids or vectors)."""
    from codec import payload_kind

    kind = payload_kind(payload)
    return payload.centroids if kind == "vq" else payload.vectors


@dataclass(frozen=True)
class Analog(Channel):
    """Analog vector values + reliable digital side info.

    :param snr_db: Es/N0 in dB (finite).
    :param fading: ``"awgn"`` or ``"rayleigh"`` (i.i.d. per symbol, perfect CSI).
    :param equalizer: ``"mmse"`` (default) or ``"zf"`` (zero forcing: unbiased values).
    :param symbol_rate_hz: channel symbols per second.
    :param side_bits_per_symbol: spectral efficiency of the reliable side link (> 0).
    :param delay_s: propagation delay added to the latency.
    """

    snr_db: float
    fading: Literal["awgn", "rayleigh"] = "awgn"
    equalizer: Literal["zf", "mmse"] = "mmse"
    symbol_rate_hz: float = 1e6
    side_bits_per_symbol: float = 1.0
    delay_s: float = 0.0

    name: ClassVar[str] = "analog"

    def __post_init__(self) -> None:
        object.__setattr__(self, "snr_db", check_finite("snr_db", self.snr_db))
        check_one_of("fading", self.fading, ("awgn", "rayleigh"))
        check_one_of("equalizer", self.equalizer, ("zf", "mmse"))
        object.__setattr__(
            self, "symbol_rate_hz", check_positive("symbol_rate_hz", self.symbol_rate_hz)
        )
        object.__setattr__(
            self,
            "side_bits_per_symbol",
            check_positive("side_bits_per_symbol", self.side_bits_per_symbol),
        )
        object.__setattr__(self, "delay_s", check_non_negative("delay_s", self.delay_s))

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        raise TypeError(
            "Analog carries a payload's vector values, not byte packets; use "
            "Analog.transmit_payload(payload, seed) (it cannot be a stage of a Chain)"
        )

    def transmit_payload(self, payload: Any, seed: int) -> tuple[Any, Delivery]:
        """Send ``payload``; return the received payload (noisy values, exact side info).

        :input payload: a ``codec`` VQPayload / SubsetPayload / FullPayload.
        :output payload: same kind, vector values float32 with channel noise.
        :output delivery: ``packets`` holds the side-info bytes (delivered intact);
            stats: ``analog_symbols``, ``side_symbols``, ``side_bytes``, ``mse``,
            ``value_snr_db`` (measured signal-to-error ratio of the values).
        """
        import codec

        check_seed(seed)
        values = payload_values(payload).detach().to("cpu", torch.float32)
        rows, dim = values.shape
        side = codec.encode_side_info(payload)
        v = values.reshape(-1).numpy().astype(np.float64)
        power = float(np.mean(v**2)) if v.size else 0.0
        scale = math.sqrt(power) if power > 0 else 1.0
        scale = float(np.float32(scale))  # what the side link carries
        n_sym = -(-v.size // 2)
        u = np.zeros(2 * n_sym, dtype=np.float64)
        u[: v.size] = v / scale
        x = (u[0::2] + 1j * u[1::2]) / math.sqrt(2.0)

        rng = np.random.default_rng(seed)
        no = 10.0 ** (-self.snr_db / 10.0)
        noise = (rng.standard_normal(n_sym) + 1j * rng.standard_normal(n_sym)) * math.sqrt(no / 2)
        if self.fading == "rayleigh":
            h = (rng.standard_normal(n_sym) + 1j * rng.standard_normal(n_sym)) / math.sqrt(2.0)
            y = h * x + noise
            mmse = np.conj(h) * y / (np.abs(h) ** 2 + no)
            x_hat = y / h if self.equalizer == "zf" else mmse
        else:
            y = x + noise
            x_hat = y if self.equalizer == "zf" else y / (1.0 + no)
        u_hat = np.empty(2 * n_sym)
        u_hat[0::2] = x_hat.real * math.sqrt(2.0)
        u_hat[1::2] = x_hat.imag * math.sqrt(2.0)
        v_hat = (u_hat[: v.size] * scale).astype(np.float32)

        received = codec.decode_side_info(side).with_vectors(
            torch.from_numpy(v_hat.reshape(rows, dim).copy())
        )
        err = float(np.mean((v_hat.astype(np.float64) - v) ** 2)) if v.size else 0.0
        side_bits = 8 * (len(side) + 4)
        side_sym = math.ceil(side_bits / self.side_bits_per_symbol)
        airtime = (n_sym + side_sym) / self.symbol_rate_hz
        stats = {
            "analog_symbols": n_sym,
            "analog_values": int(v.size),
            "side_symbols": side_sym,
            "side_bytes": len(side) + 4,
            "scale": scale,
            "mse": err,
            "value_snr_db": 10 * math.log10(power / err) if err > 0 and power > 0 else math.inf,
        }
        delivery = Delivery([side], side_bits, airtime, airtime + self.delay_s, stats)
        return received, delivery
