"""Analog transmission of a payload: vector values as analog symbols, side info coded.

The payload-to-symbols mapping of :class:`channel.analog.Analog` (which knows only
symbols). For a payload with vector values ``v`` ([rows, D]: VQ centroids, kept subset
vectors or all vectors), ``M = rows * D`` real values, flattened row-major:

**Prior (what the server knows for free).** An :class:`AnalogPrior` gives a
per-dimension mean ``mu_d`` and variance ``sigma_d^2`` of the values, *fixed per
model* (both ends hold it; it costs no channel uses). The sweep runner estimates it
for image ``i`` from the payload values of the row's *other* images
(:func:`leave_one_out`), a stand-in for a calibration set that never contains the
image being sent. Without a prior, ``mu = 0`` and every value has the same prior
variance (the realised power ``s^2``, below): the global prior.

**Transmitter.** Residuals ``r_j = v_j - mu_j`` (the mean is not sent: it is known).
``n_uses = ceil(rho * M)`` complex channel uses (``rho`` = ``bandwidth_ratio``) give
``S = 2 n_uses`` real slots. Values are ranked by prior variance (largest first, ties
by index: the global prior keeps index order) and value ``j`` of rank ``k_j`` gets
``L_j = floor(S / M) + [k_j < S mod M]`` copies, so ``sum_j L_j = S``:

- ``rho < 0.5`` (``S < M``): the ``S`` most important (highest prior variance) values
  are sent once, the others are dropped and the receiver puts ``mu_j`` (error
  ``r_j^2``, expected ``sigma_j^2``);
- ``rho = 0.5``: every value once (two reals per symbol; an odd ``M`` gives the top
  value a second copy instead of a zero pad);
- ``rho > 0.5``: repetition, ``L_j`` copies in distinct symbols (copy rounds are laid
  out one after the other), combined by maximum-ratio combining.

Slots are sent as ``x_i = (a_{2i} + j a_{2i+1}) / (s sqrt 2)`` with ``s^2`` the mean
of the squared slot values (rounded up to float32 and sent as side info), so
``mean |x|^2 = 1 = Es`` exactly: each real slot carries ``u = r / s`` at per-real SNR
``Es/N0 = gamma``.

**Receiver.** Per copy ``c`` the zero-forcing estimate ``u_c`` has noise variance
``1 / (gamma g_c)`` (``g_c = |h_c|^2``, 1 on AWGN); MRC gives ``u_hat = sum g_c u_c /
G`` with noise ``1 / (gamma G)``, ``G = sum_c g_c``. With prior variance ``p = sigma^2
/ s^2`` of ``u``:

- ``equalizer="zf"``: ``r_hat = s u_hat``, MSE ``s^2 / (gamma G)``;
- ``equalizer="mmse"`` (default): ``r_hat = s p gamma G / (1 + p gamma G) u_hat``,
  MSE ``sigma^2 / (1 + gamma G sigma^2 / s^2)``.

So per value: AWGN ``G = L_j``; Rayleigh (i.i.d. per symbol) ``G ~ Gamma(L_j, 1)``:
MMSE MSE ``E[sigma^2 / (1 + gamma G sigma^2 / s^2)]``, ZF ``s^2 / (gamma (L_j - 1))``
for ``L_j >= 2`` (infinite for one copy: deep fades). Power is split evenly over the
slots (no water-filling across dimensions).

**Side information** goes over the link's coded side channel
(:meth:`~channel.analog.Analog.side_channel`, adaptive-MCS ``coded_phy`` at the same
SNR by default): the message ``scale (float32) || codec.encode_side_info(payload) ||
CRC-32``, cut into packets of at most ``mtu`` bytes, delivered in order. Its channel
uses, bits on air and airtime count; if any packet is lost, or the CRC or the side-info
format fails, the image is lost (``received`` None): nothing can be concealed without
the indices / positions and the scale.

>>> import torch, codec
>>> from channel import Analog
>>> p = codec.FullPayload(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)))
>>> rx, d = send_payload(Analog(30.0), p, seed=0)
>>> d.stats["analog_symbols"], d.channel_uses == 16 + d.stats["side_symbols"]
(16, True)
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import codec

__all__ = [
    "AnalogPrior",
    "leave_one_out",
    "payload_values",
    "copies_per_value",
    "side_message",
    "side_packets",
    "planned_channel_uses",
    "send_payload",
]


def payload_values(payload: Any) -> torch.Tensor:
    """The vector values a payload sends analog: [rows, D] (centroids or vectors)."""
    kind = codec.payload_kind(payload)
    return payload.centroids if kind == "vq" else payload.vectors


def _seed(seed: int, key: int) -> int:
    return int(np.random.SeedSequence([seed, key]).generate_state(1, dtype=np.uint64)[0] >> 1)


@dataclass(frozen=True, eq=False)
class AnalogPrior:
    """Per-dimension prior of the analog values, known at both ends.

    :param mean: [D] float64, ``mu_d``.
    :param var: [D] float64, ``sigma_d^2 > 0``.
    """

    mean: np.ndarray
    var: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64)
        var = np.asarray(self.var, dtype=np.float64)
        if mean.ndim != 1 or var.shape != mean.shape:
            raise ValueError(
                f"mean and var must be 1-D of the same length D, got {mean.shape}, {var.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)):
            raise ValueError("prior mean must be finite and var finite and > 0")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "var", var)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, values: Sequence[Any]) -> AnalogPrior:
        """Mean and variance per dimension over all rows of ``values`` (arrays or
        tensors [rows, D]); the variance is floored at ``1e-12 x`` its mean so that
        constant dimensions stay valid."""
        rows = [_as_matrix(v) for v in values]
        if not rows or sum(r.shape[0] for r in rows) == 0:
            raise ValueError("values: need at least one row to fit a prior")
        data = np.concatenate(rows, axis=0)
        return cls._from_moments(data.sum(0), (data**2).sum(0), data.shape[0])

    @classmethod
    def _from_moments(cls, s1: np.ndarray, s2: np.ndarray, n: int) -> AnalogPrior:
        mean = s1 / n
        var = np.maximum(s2 / n - mean**2, 0.0)
        floor = 1e-12 * max(float(var.mean()), float(np.mean(mean**2)), 1e-30)
        return cls(mean, np.maximum(var, floor))


def _as_matrix(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().to("cpu", torch.float64).numpy()
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be 2-D [rows, D], got shape {v.shape}")
    return v


def leave_one_out(values: Sequence[Any]) -> list[AnalogPrior | None]:
    """Prior of image ``i`` fitted on the rows of every *other* image (None when there
    is no other image with rows). All images must share D."""
    mats = [_as_matrix(v) for v in values]
    if not mats:
        return []
    dims = {m.shape[1] for m in mats}
    if len(dims) != 1:
        raise ValueError(f"values: all images need the same D, got {sorted(dims)}")
    s1 = np.stack([m.sum(0) for m in mats])
    s2 = np.stack([(m**2).sum(0) for m in mats])
    n = np.array([m.shape[0] for m in mats])
    t1, t2, tn = s1.sum(0), s2.sum(0), int(n.sum())
    out: list[AnalogPrior | None] = []
    for i in range(len(mats)):
        rest = tn - int(n[i])
        out.append(None if rest == 0 else AnalogPrior._from_moments(t1 - s1[i], t2 - s2[i], rest))
    return out


def copies_per_value(n_values: int, n_uses: int, prior_var: np.ndarray | None) -> np.ndarray:
    """[M] int, the copies ``L_j`` of each flat value (module docstring); ``prior_var``
    [M] ranks them (None: index order)."""
    slots = 2 * n_uses
    if n_values == 0:
        return np.zeros(0, dtype=np.int64)
    if prior_var is None:
        rank = np.arange(n_values)
    else:
        order = np.argsort(-np.asarray(prior_var), kind="stable")
        rank = np.empty(n_values, dtype=np.int64)
        rank[order] = np.arange(n_values)
    return slots // n_values + (rank < slots % n_values).astype(np.int64)


def side_message(payload: Any, scale: float) -> bytes:
    """``scale`` (float32, little-endian) + side info + CRC-32 (big-endian)."""
    body = struct.pack("<f", scale) + codec.encode_side_info(payload)
    return body + struct.pack(">I", zlib.crc32(body))


def side_packets(message: bytes, mtu: int) -> list[bytes]:
    """The side message cut into packets of at most ``mtu`` bytes, in order."""
    if isinstance(mtu, bool) or not isinstance(mtu, int) or mtu < 1:
        raise ValueError(f"mtu must be an int >= 1, got {mtu!r}")
    return [message[i : i + mtu] for i in range(0, len(message), mtu)]


def _read_side(packets: list[bytes | None]) -> tuple[float, Any] | None:
    if any(p is None for p in packets):
        return None
    msg = b"".join(packets)  # type: ignore[arg-type]
    if len(msg) < 8 or struct.unpack(">I", msg[-4:])[0] != zlib.crc32(msg[:-4]):
        return None
    try:
        side = codec.decode_side_info(msg[4:-4])
    except codec.PayloadError:
        return None
    return struct.unpack("<f", msg[:4])[0], side


def _analog(link: Any) -> Any:
    cfg = getattr(link, "channel", link)
    if not hasattr(cfg, "analog_uses") or not hasattr(link, "transmit_symbols"):
        raise TypeError(f"link must be a channel.Analog or its stream, got {type(link).__name__}")
    return cfg


def planned_channel_uses(link: Any, payload: Any, *, mtu: int = 1400) -> float:
    """Channel uses of sending ``payload`` once: analog uses + the side link's planned
    uses for the side packets (deterministic)."""
    cfg = _analog(link)
    values = payload_values(payload)
    packets = side_packets(side_message(payload, 1.0), mtu)
    side = cfg.side_channel().planned_channel_uses(packets)
    return float(cfg.analog_uses(int(values.numel())) + side)


def send_payload(
    link: Any, payload: Any, seed: int, *, prior: AnalogPrior | None = None, mtu: int = 1400
) -> tuple[Any, Any]:
    """Send ``payload`` over an analog ``link`` (a ``channel.Analog`` or its stream).

    :param prior: the per-dimension prior both ends know (None: zero mean, global
        variance); its D must match the payload's.
    :param mtu: largest side-link packet in bytes.
    :output received: the payload with estimated values (float32), or None when the
        side information did not arrive (the image is lost).
    :output delivery: a :class:`channel.Delivery`: ``packets`` the side packets as
        received, ``bits_on_air`` / ``airtime_s`` / ``channel_uses`` analog + side
        link; stats ``analog_symbols``, ``analog_values``, ``values_sent``,
        ``max_copies``, ``scale``, ``mse``, ``value_snr_db`` (residual power / MSE),
        ``side_symbols``, ``side_bytes``, ``side_lost``, ``side_info_bits_per_use``,
        ``side_capacity_per_use``, ``side_capacity_ratio``, ``side`` (its stats).
    """
    from channel.delivery import Delivery

    cfg = _analog(link)
    values = payload_values(payload).detach().to("cpu", torch.float64)
    rows, dim = values.shape
    v = values.reshape(-1).numpy()
    m = v.size
    if prior is not None:
        if not isinstance(prior, AnalogPrior):
            raise TypeError(f"prior must be an AnalogPrior or None, got {type(prior).__name__}")
        if prior.dim != dim:
            raise ValueError(f"prior has D={prior.dim} but the payload's values have D={dim}")
        mu, var = np.tile(prior.mean, rows), np.tile(prior.var, rows)
    else:
        mu, var = np.zeros(m), None
    r = v - mu
    n_uses = cfg.analog_uses(m)
    copies = copies_per_value(m, n_uses, var)
    slot_value = _slot_layout(copies, var)
    slots = np.zeros(2 * n_uses)
    slots[: slot_value.size] = r[slot_value]
    power = float(np.mean(slots**2)) if slots.size else 0.0
    scale = float(np.float32(math.sqrt(power))) if power > 0 else 1.0
    if scale * scale < power:  # round up: the symbols' mean energy must not exceed 1
        scale = float(np.nextafter(np.float32(scale), np.float32(np.inf)))
    x = (slots[0::2] + 1j * slots[1::2]) / (scale * math.sqrt(2.0))

    rx = link.transmit_symbols(x, _seed(seed, 0))
    u_copy = np.empty(2 * n_uses)
    u_copy[0::2] = rx.y.real * math.sqrt(2.0)
    u_copy[1::2] = rx.y.imag * math.sqrt(2.0)
    g_copy = np.repeat(rx.gain, 2)[: slot_value.size]
    big_g = np.bincount(slot_value, weights=g_copy, minlength=m)
    num = np.bincount(slot_value, weights=g_copy * u_copy[: slot_value.size], minlength=m)
    sent = big_g > 0
    u_hat = np.zeros(m)
    u_hat[sent] = num[sent] / big_g[sent]
    if cfg.equalizer == "mmse":
        p = np.ones(m) if var is None else var / scale**2
        snr = big_g / rx.noise_var
        u_hat = u_hat * (p * snr / (1.0 + p * snr))
    v_hat = mu + scale * u_hat
    err = float(np.mean((v_hat - v) ** 2)) if m else 0.0
    sig = float(np.mean(r**2)) if m else 0.0

    message = side_message(payload, scale)
    packets = side_packets(message, mtu)
    sd = link.transmit_side(packets, _seed(seed, 1))
    got = _read_side(sd.packets)
    received = None
    if got is not None:
        received = got[1].with_vectors(
            torch.from_numpy(v_hat.astype(np.float32).reshape(rows, dim))
        )
    side_cap = cfg.side_channel().capacity_per_use()
    side_cap = math.nan if side_cap is None else float(side_cap)
    side_bits = 8 * len(message)
    delivered = side_bits if got is not None else 0
    stats = {
        "analog_symbols": n_uses,
        "analog_values": m,
        "values_sent": int(sent.sum()),
        "max_copies": int(copies.max()) if m else 0,
        "bandwidth_ratio": cfg.bandwidth_ratio,
        "prior": "none" if prior is None else "per_dimension",
        "scale": scale,
        "mse": err,
        "value_snr_db": 10 * math.log10(sig / err) if err > 0 and sig > 0 else math.inf,
        "side_symbols": float(sd.channel_uses),
        "side_bytes": len(message),
        "side_packets": len(packets),
        "side_lost": int(got is None),
        "side_info_bits_per_use": delivered / sd.channel_uses if sd.channel_uses else math.nan,
        "side_capacity_per_use": side_cap,
        "side_capacity_ratio": sd.channel_uses * side_cap / side_bits,
        "side": sd.stats,
    }
    airtime = rx.airtime_s + sd.airtime_s
    delivery = Delivery(
        list(sd.packets),
        sd.bits_on_air,
        airtime,
        rx.airtime_s + sd.latency_s + cfg.delay_s,
        stats,
        channel_uses=float(n_uses + sd.channel_uses),
    )
    return received, delivery


def _slot_layout(copies: np.ndarray, var: np.ndarray | None) -> np.ndarray:
    """[sum L] value index of each slot: copy round 0 (every sent value, most important
    first), then round 1, ...: the copies of a value land in distinct symbols."""
    m = copies.size
    order = np.arange(m) if var is None else np.argsort(-var, kind="stable")
    rounds = [order[copies[order] > c] for c in range(int(copies.max()) if m else 0)]
    return np.concatenate(rounds).astype(np.int64) if rounds else np.zeros(0, dtype=np.int64)
