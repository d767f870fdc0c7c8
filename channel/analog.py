"""Analog transmission: a complex-symbol channel plus the coded link its side info uses.

This module knows no payload layout: complex symbols go in, equalised symbols and the
receiver's channel knowledge come out. Mapping a payload's vector values to symbols
(mean removal, bandwidth ratio, MMSE estimation) is :mod:`collab_infer.analog_tx`.

Symbol channel (:meth:`Analog.transmit_symbols`): ``y = h x + n``, ``n ~ CN(0, N0)``,
``N0 = 1 / (Es/N0)`` with the symbols' mean energy ``Es = mean |x|^2 <= 1`` (checked:
a transmitter must normalise its power; ``snr_db`` is Es/N0 per complex symbol).
AWGN: ``h = 1``; Rayleigh: ``h ~ CN(0, 1)`` i.i.d. per symbol (ideal interleaving),
known at the receiver. The receiver returns the zero-forcing output ``y / h = x + n/h``
and the gain ``|h|^2`` of every symbol, a sufficient statistic: the post-equalisation
noise is ``CN(0, N0 / |h|^2)``, so maximum-ratio combining of copies ``c`` of one value
weighs them by ``|h_c|^2`` and leaves noise ``N0 / sum_c |h_c|^2``. (Simulated
directly as ``x + sqrt(N0 / |h|^2) w``, ``w ~ CN(0, 1)``, in float64.)

Side link (:meth:`Analog.side_channel`): the side information of an analog
transmission (indices / positions, scale) is digital and goes over a real coded
link at the same Es/N0 and fading: by default ``channel.make("coded_phy", mcs=None,
adaptive=True, mode="abstract", block_payload_bits=232, bler_target=0.01,
snr_db=<snr_db>, fading=<fading>, symbol_rate_hz=<symbol_rate_hz>)`` (232-bit code
blocks: a side message of a few hundred bits pads less than with 1000-bit blocks; a
1% target because a lost side message loses the image); ``side_link={"name": ...,
**params}`` replaces it (``snr_db`` and ``fading`` default to the analog link's, where
the model takes them). It must be a physical link
(a ``capacity_per_use``): an ideal or rate-only side link would deliver above
capacity. Its packets can be lost; its channel uses count.

Channel cost: the analog part occupies ``analog_uses(n_values) = ceil(bandwidth_ratio
* n_values)`` complex uses (``bandwidth_ratio``: complex channel uses per real value,
0.5 = two reals per symbol); the side link adds its own. ``capacity_per_use`` is the
AWGN or ergodic Rayleigh capacity at ``snr_db``.

>>> import numpy as np
>>> ch = Analog(20.0)
>>> rx = ch.transmit_symbols(np.ones(4, dtype=complex), seed=0)
>>> rx.channel_uses, bool(np.abs(rx.y - 1).max() < 0.5), ch.analog_uses(7)
(4, True, 4)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, is_dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from channel.base import Channel, ChannelStream, derive_seed
from channel.capacity import capacity_per_use
from channel.delivery import Delivery
from channel.validate import (
    check_non_negative,
    check_one_of,
    check_positive,
    check_seed,
    check_snr_db,
)

__all__ = ["Analog", "AnalogStream", "SymbolDelivery"]

_NOT_BYTES = (
    "Analog carries complex symbols, not byte packets: send a payload with "
    "collab_infer.analog_tx.send_payload(link, payload, seed) or symbols with "
    "Analog.transmit_symbols (it cannot be a stage of a Chain)"
)


@dataclass(frozen=True, eq=False)
class SymbolDelivery:
    """What :meth:`Analog.transmit_symbols` hands back.

    :param y: [n] complex128, zero-forcing equalised symbols ``x + n / h``.
    :param gain: [n] float64, ``|h|^2`` per symbol (ones over AWGN).
    :param noise_var: ``N0`` per complex symbol before equalisation (so symbol ``i``
        carries noise of variance ``noise_var / gain[i]`` after it).
    :param channel_uses: ``n``.
    :param airtime_s: ``n / symbol_rate_hz``.
    :param stats: ``symbols``, ``tx_power`` (measured mean ``|x|^2``).
    """

    y: np.ndarray
    gain: np.ndarray
    noise_var: float
    channel_uses: int
    airtime_s: float
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Analog(Channel):
    """Analog symbol channel (AWGN or Rayleigh) with a coded side link.

    :param snr_db: Es/N0 per complex symbol in dB (finite; mean over the fading).
    :param fading: ``"awgn"`` or ``"rayleigh"`` (i.i.d. per symbol, perfect CSI).
    :param equalizer: how the receiver estimates values (used by
        :mod:`collab_infer.analog_tx`): ``"mmse"`` (linear MMSE with the values' prior
        variance, default) or ``"zf"`` (unbiased: combined zero-forcing output).
    :param bandwidth_ratio: complex channel uses per real value (> 0; 0.5 = two reals
        per symbol; below 0.5 the least important values are dropped, above it they
        are repeated and combined).
    :param side_link: the coded link of the side information, ``{"name": ...,
        **params}`` for ``channel.make`` (None: adaptive-MCS ``coded_phy``, see the
        module docstring).
    :param symbol_rate_hz: channel symbols per second (airtime = symbols / rate).
    :param delay_s: propagation delay added once to the latency.
    """

    snr_db: float
    fading: Literal["awgn", "rayleigh"] = "awgn"
    equalizer: Literal["zf", "mmse"] = "mmse"
    bandwidth_ratio: float = 0.5
    side_link: dict[str, Any] | None = field(default=None, hash=False)
    symbol_rate_hz: float = 1e6
    delay_s: float = 0.0

    name: ClassVar[str] = "analog"

    def __post_init__(self) -> None:
        object.__setattr__(self, "snr_db", check_snr_db("snr_db", self.snr_db))
        check_one_of("fading", self.fading, ("awgn", "rayleigh"))
        check_one_of("equalizer", self.equalizer, ("zf", "mmse"))
        object.__setattr__(
            self, "bandwidth_ratio", check_positive("bandwidth_ratio", self.bandwidth_ratio)
        )
        object.__setattr__(
            self, "symbol_rate_hz", check_positive("symbol_rate_hz", self.symbol_rate_hz)
        )
        object.__setattr__(self, "delay_s", check_non_negative("delay_s", self.delay_s))
        if self.side_link is not None and not isinstance(self.side_link, dict):
            raise TypeError(
                "side_link must be a dict {'name': <channel>, **params} or None, got "
                f"{type(self.side_link).__name__}"
            )
        object.__setattr__(self, "_side", self._build_side())

    # -- configuration ----------------------------------------------------------------
    def _build_side(self) -> Channel:
        from channel.registry import CHANNELS, make

        if self.side_link is None:
            spec: dict[str, Any] = {
                "name": "coded_phy",
                "mcs": None,
                "adaptive": True,
                "mode": "abstract",
                "block_payload_bits": 232,  # side messages are short: less padding
                "bler_target": 0.01,  # losing it loses the image: a strict target
                "symbol_rate_hz": self.symbol_rate_hz,
            }
        else:
            spec = dict(self.side_link)
        name = spec.pop("name", None)
        if not isinstance(name, str):
            raise ValueError("side_link needs a 'name' key naming a channel, e.g. 'coded_phy'")
        if name == "analog":
            raise ValueError("side_link cannot be 'analog': side information is digital")
        try:
            cls = CHANNELS.get(name)
            accepted = {f.name for f in dataclasses.fields(cls)} if is_dataclass(cls) else set()
            for key in ("snr_db", "fading"):  # the analog link's, unless given
                if key in accepted:
                    spec.setdefault(key, getattr(self, key))
            side = make(name, **spec)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"side_link {name!r}: {exc}") from exc
        # physical = spends channel uses and has a capacity; a model that has not
        # implemented capacity_per_use yet (the base default) is given the benefit of
        # the doubt, one that states None (rate-only, loss-only) is refused
        inherited = type(side).capacity_per_use is Channel.capacity_per_use
        if not side.costs_air or (side.capacity_per_use() is None and not inherited):
            raise ValueError(
                f"side_link {name!r} is not a physical link (no capacity per channel use): "
                "side information must travel over a real coded link such as 'coded_phy'"
            )
        return side

    def side_channel(self) -> Channel:
        """The coded link the side information goes over (built once)."""
        return self._side  # type: ignore[attr-defined]

    def analog_uses(self, n_values: int) -> int:
        """Complex channel uses for ``n_values`` real values: ``ceil(ratio * n)``."""
        if isinstance(n_values, bool) or not isinstance(n_values, int | np.integer):
            raise TypeError(f"n_values must be an int, got {type(n_values).__name__}")
        if n_values < 0:
            raise ValueError(f"n_values must be >= 0, got {n_values}")
        # a tiny tolerance so 0.5 * 2k is exactly k despite float rounding
        return int(math.ceil(self.bandwidth_ratio * int(n_values) - 1e-9))

    def capacity_per_use(self) -> float:
        """Shannon capacity (bits per complex use) at Es/N0, ergodic under Rayleigh."""
        return capacity_per_use(self.snr_db, self.fading)

    def planned_channel_uses(self, packets: list[bytes]) -> float:
        raise TypeError(
            "Analog plans symbols, not packets: use collab_infer.analog_tx."
            "planned_channel_uses(link, payload) (analog_uses + the side link's)"
        )

    def stream(self, seed: int) -> AnalogStream:
        """A row's process: the side link streams from ``derive_seed(seed, 1)``."""
        return AnalogStream(self, check_seed(seed))

    # -- transmission -----------------------------------------------------------------
    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        raise TypeError(_NOT_BYTES)

    def transmit_side(self, packets: list[bytes], seed: int) -> Delivery:
        """Send side-information packets over :meth:`side_channel`."""
        return self.side_channel().transmit(packets, seed)

    def transmit_symbols(self, x: np.ndarray, seed: int) -> SymbolDelivery:
        """Send complex symbols ``x`` (mean energy <= 1); see the module docstring.

        :input x: [n] complex (any complex or real dtype; converted to complex128).
        :output: :class:`SymbolDelivery` (ZF-equalised symbols and gains |h|^2).
        """
        check_seed(seed)
        x = np.asarray(x)
        if x.ndim != 1:
            raise ValueError(f"x must be a 1-D array of symbols, got shape {x.shape}")
        if not (np.issubdtype(x.dtype, np.complexfloating) or np.issubdtype(x.dtype, np.number)):
            raise TypeError(f"x must hold complex numbers, got dtype {x.dtype}")
        x = x.astype(np.complex128)
        n = x.size
        if n and not np.all(np.isfinite(x)):
            raise ValueError("x holds non-finite symbols")
        power = float(np.mean(np.abs(x) ** 2)) if n else 0.0
        if power > 1.0 + 1e-9:
            raise ValueError(
                f"x has mean energy {power:.6g} > 1 (Es): normalise the symbols so that "
                "mean |x|^2 <= 1; snr_db is Es/N0 at unit symbol energy"
            )
        rng = np.random.default_rng(seed)
        no = 10.0 ** (-self.snr_db / 10.0)
        if self.fading == "rayleigh":
            gain = np.maximum(rng.standard_exponential(n), 1e-300)
        else:
            gain = np.ones(n)
        w = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        y = x + w * np.sqrt(no / (2.0 * gain))
        airtime = n / self.symbol_rate_hz
        return SymbolDelivery(y, gain, no, n, airtime, {"symbols": n, "tx_power": power})


class AnalogStream(ChannelStream):
    """An :class:`Analog` link for a row's images in order: symbols as
    :meth:`Analog.transmit_symbols`, side packets through the side link's own stream
    (stateful side links keep their state from image to image)."""

    def __init__(self, channel: Analog, seed: int) -> None:
        super().__init__(channel)
        self.side = channel.side_channel().stream(derive_seed(seed, 1))

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        raise TypeError(_NOT_BYTES)

    def transmit_side(self, packets: list[bytes], seed: int) -> Delivery:
        return self.side.transmit(packets, seed)

    def transmit_symbols(self, x: np.ndarray, seed: int) -> SymbolDelivery:
        return self.channel.transmit_symbols(x, seed)
