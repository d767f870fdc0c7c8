"""Packet erasure: independent (iid) losses and bursty Gilbert-Elliott losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from channel.base import Channel, ChannelStream, offered_bits
from channel.delivery import Delivery
from channel.validate import (
    check_finite,
    check_mean_burst_length,
    check_probability,
    check_seed,
    check_transition_probability,
)

__all__ = ["PacketErasure", "GilbertElliott", "loss_runs"]


def loss_runs(lost: np.ndarray) -> np.ndarray:
    """Lengths of the runs of consecutive losses in a boolean loss mask.

    >>> loss_runs(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)).tolist()
    [2, 1, 3]
    """
    x = np.concatenate([[0], np.asarray(lost, dtype=np.int8), [0]])
    edges = np.flatnonzero(np.diff(x))
    return edges[1::2] - edges[0::2]


def _deliver(packets: list[bytes], lost: np.ndarray, stats: dict) -> Delivery:
    out = [None if gone else p for p, gone in zip(packets, lost.tolist(), strict=True)]
    runs = loss_runs(lost)
    stats = {
        "lost": int(lost.sum()),
        "loss_rate": float(lost.mean()) if lost.size else 0.0,
        "mean_burst_length": float(runs.mean()) if runs.size else 0.0,
        **stats,
    }
    return Delivery(out, offered_bits(packets), 0.0, 0.0, stats)


@dataclass(frozen=True)
class PacketErasure(Channel):
    """Each packet is lost independently with probability ``loss``.

    >>> d = PacketErasure(0.5).transmit([b"x"] * 1000, seed=1)
    >>> 0.45 < d.loss_rate < 0.55
    True
    """

    loss: float

    name: ClassVar[str] = "erasure"
    costs_air: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss", check_probability("loss", self.loss))

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        lost = np.random.default_rng(seed).random(len(packets)) < self.loss
        return _deliver(packets, lost, {})


@dataclass(frozen=True)
class GilbertElliott(Channel):
    """Two-state Markov loss over the packet sequence (Gilbert-Elliott).

    State G (good) or B (bad) per packet; after each packet G -> B with probability
    ``p_gb`` and B -> G with ``p_bg``; a packet is lost with probability ``loss_good``
    in G and ``loss_bad`` in B. Each :meth:`transmit` call starts in the stationary
    distribution (``P(B) = p_gb / (p_gb + p_bg)``); a :meth:`stream` (one per sweep
    row) draws its first state from the stationary distribution with the stream seed
    and then carries the chain from the last packet of one image to the first packet of
    the next, so the images of a row see one continuous Markov process (bursts span
    images; one-packet images are correlated, not i.i.d.). With the defaults (``loss_good=0``,
    ``loss_bad=1``) the mean loss rate is ``P(B)`` and the mean loss-burst length is
    ``1 / p_bg``; :meth:`from_loss_rate` inverts these.

    Vectorised: the state sequence is built from geometric sojourn times.

    >>> ge = GilbertElliott.from_loss_rate(0.1, mean_burst_length=4)
    >>> round(ge.p_gb, 6), ge.p_bg
    (0.027778, 0.25)
    """

    p_gb: float
    p_bg: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    name: ClassVar[str] = "gilbert_elliott"
    costs_air: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for f in ("p_gb", "p_bg"):  # 0 < p < 1e-12 would overflow the sojourn sums
            object.__setattr__(self, f, check_transition_probability(f, getattr(self, f)))
        for f in ("loss_good", "loss_bad"):
            object.__setattr__(self, f, check_probability(f, getattr(self, f)))

    @classmethod
    def from_loss_rate(cls, loss_rate: float, mean_burst_length: float) -> GilbertElliott:
        """Parameters for mean loss rate ``loss_rate`` in [0, 1) and mean loss-burst
        length ``mean_burst_length`` >= 1 (packets), with ``loss_good=0, loss_bad=1``."""
        loss_rate = check_probability("loss_rate", loss_rate)
        if loss_rate >= 1.0:
            raise ValueError("loss_rate must be < 1 for a Gilbert-Elliott channel, got 1.0")
        burst = check_finite("mean_burst_length", mean_burst_length)
        if burst < 1.0:
            raise ValueError(f"mean_burst_length must be >= 1 packet, got {burst}")
        check_mean_burst_length("mean_burst_length", burst)  # at most 1e12 packets
        p_bg = 1.0 / burst
        p_gb = loss_rate * p_bg / (1.0 - loss_rate)
        if p_gb > 1.0:
            raise ValueError(
                f"loss_rate={loss_rate} with mean_burst_length={burst} needs P(G->B) > 1; "
                "use a longer mean_burst_length"
            )
        return cls(p_gb=p_gb, p_bg=p_bg)

    @property
    def stationary_bad(self) -> float:
        total = self.p_gb + self.p_bg
        return self.p_gb / total if total > 0 else 0.0

    @property
    def mean_loss_rate(self) -> float:
        pb = self.stationary_bad
        return (1 - pb) * self.loss_good + pb * self.loss_bad

    def states(
        self, n: int, rng: np.random.Generator, initial_bad: bool | None = None
    ) -> np.ndarray:
        """[n] bool, True where the chain is in the bad state; the first packet's state
        is ``initial_bad``, or drawn from the stationary distribution when None."""
        bad = np.zeros(n, dtype=bool)
        if n == 0:
            return bad
        if initial_bad is None:
            state_bad = bool(rng.random() < self.stationary_bad)
        else:
            state_bad = bool(initial_bad)
        pos = 0
        while pos < n:  # a few batches of alternating sojourns, not a loop over packets
            n_runs = 2 * max(8, int(n * (self.p_gb + self.p_bg) / 2) + 8)
            p_leave = np.empty(n_runs)
            p_leave[0::2] = self.p_bg if state_bad else self.p_gb
            p_leave[1::2] = self.p_gb if state_bad else self.p_bg
            lengths = np.full(n_runs, n, dtype=np.int64)
            movable = p_leave > 0
            lengths[movable] = rng.geometric(p_leave[movable])
            ends = np.minimum(pos + np.cumsum(lengths), n)
            starts = np.concatenate([[pos], ends[:-1]])
            run_bad = np.zeros(n_runs, dtype=bool)
            run_bad[0::2] = state_bad
            run_bad[1::2] = not state_bad
            bad[pos : ends[-1]] = np.repeat(run_bad, ends - starts)
            if ends[-1] >= n:
                break
            pos = int(ends[-1])
            # n_runs is even, so the next batch starts in the same state as this one
        return bad

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        packets = self._start(packets, seed)
        rng = np.random.default_rng(seed)
        bad = self.states(len(packets), rng)
        return self._losses(packets, bad, rng)

    def stream(self, seed: int) -> ChannelStream:
        """A row's process: the Markov state carries from image to image (see above)."""
        return _GEStream(self, check_seed(seed))

    def _losses(self, packets: list[bytes], bad: np.ndarray, rng) -> Delivery:
        p_loss = np.where(bad, self.loss_bad, self.loss_good)
        lost = rng.random(len(packets)) < p_loss
        return _deliver(packets, lost, {"bad_fraction": float(bad.mean()) if bad.size else 0.0})


class _GEStream(ChannelStream):
    """Gilbert-Elliott state carried across calls: image ``i`` draws its sojourns and
    losses from its own seed, starting in the state the previous image left."""

    def __init__(self, channel: GilbertElliott, seed: int) -> None:
        super().__init__(channel)
        self.bad = bool(np.random.default_rng(seed).random() < channel.stationary_bad)

    def transmit(self, packets: list[bytes], seed: int) -> Delivery:
        ch: GilbertElliott = self.channel
        packets = ch._start(packets, seed)
        rng = np.random.default_rng(seed)
        # one state past the image: the state of the next image's first packet
        chain = ch.states(len(packets) + 1, rng, initial_bad=self.bad)
        self.bad = bool(chain[-1])
        return ch._losses(packets, chain[:-1], rng)
