import numpy as np
import pytest

from channel.erasure import GilbertElliott, PacketErasure, loss_runs

N = 100_000
PACKETS = [b"p"] * N


def _mask(d) -> np.ndarray:
    return np.array([p is None for p in d.packets])


class TestPacketErasure:
    @pytest.mark.parametrize("loss", [0.0, 0.05, 0.3, 1.0])
    def test_loss_rate(self, loss):
        d = PacketErasure(loss).transmit(PACKETS, seed=1)
        assert abs(d.loss_rate - loss) <= 5 * np.sqrt(loss * (1 - loss) / N)
        # iid: mean burst length 1 / (1 - loss)
        if 0 < loss < 1:
            assert d.stats["mean_burst_length"] == pytest.approx(1 / (1 - loss), rel=0.03)

    def test_survivors_intact_and_reproducible(self):
        packets = [bytes([i]) * 3 for i in range(100)]
        a = PacketErasure(0.5).transmit(packets, seed=9)
        b = PacketErasure(0.5).transmit(packets, seed=9)
        assert a.packets == b.packets
        assert all(p is None or p == q for p, q in zip(a.packets, packets, strict=True))


class TestGilbertElliott:
    @pytest.mark.parametrize(("loss_rate", "burst"), [(0.1, 4.0), (0.02, 1.5), (0.3, 10.0)])
    def test_from_loss_rate_matches_targets(self, loss_rate, burst):
        ge = GilbertElliott.from_loss_rate(loss_rate, burst)
        assert ge.mean_loss_rate == pytest.approx(loss_rate)
        d = ge.transmit(PACKETS, seed=2)
        # bursts make the estimate noisier than iid: sd ~ sqrt(loss * burst * 2 / N)
        assert abs(d.loss_rate - loss_rate) < 5 * np.sqrt(loss_rate * burst * 2 / N)
        runs = loss_runs(_mask(d))
        assert runs.mean() == pytest.approx(burst, rel=5 / np.sqrt(runs.size))

    def test_transition_parametrisation_with_partial_losses(self):
        ge = GilbertElliott(p_gb=0.05, p_bg=0.25, loss_good=0.01, loss_bad=0.6)
        d = ge.transmit(PACKETS, seed=3)
        pb = 0.05 / 0.30
        assert d.stats["bad_fraction"] == pytest.approx(pb, abs=0.02)
        assert d.loss_rate == pytest.approx((1 - pb) * 0.01 + pb * 0.6, abs=0.015)

    def test_losses_are_bursty(self):
        ge = GilbertElliott.from_loss_rate(0.1, 8.0)
        iid = PacketErasure(0.1)
        assert (
            ge.transmit(PACKETS, seed=4).stats["mean_burst_length"]
            > 5 * iid.transmit(PACKETS, seed=4).stats["mean_burst_length"]
        )

    def test_degenerate_chains(self):
        assert GilbertElliott(0.0, 0.5).transmit([b"x"] * 50, seed=0).n_lost == 0
        alternating = GilbertElliott(1.0, 1.0).transmit([b"x"] * 10, seed=0)
        lost = _mask(alternating)
        assert np.all(lost[1:] != lost[:-1])

    def test_bad_parameters(self):
        with pytest.raises(ValueError, match="mean_burst_length must be >= 1"):
            GilbertElliott.from_loss_rate(0.1, 0.5)
        with pytest.raises(ValueError, match="loss_rate must be < 1"):
            GilbertElliott.from_loss_rate(1.0, 3.0)
        with pytest.raises(ValueError, match="needs P\\(G->B\\) > 1"):
            GilbertElliott.from_loss_rate(0.9, 1.0)
        with pytest.raises(ValueError, match=r"p_bg must lie in \[0, 1\]"):
            GilbertElliott(0.1, 1.5)


def test_loss_runs():
    assert loss_runs(np.array([0, 1, 1, 0, 1], dtype=bool)).tolist() == [2, 1]
    assert loss_runs(np.zeros(4, dtype=bool)).size == 0


def _stream_mask(ch, n_images: int, per_image: int, seed: int = 0) -> np.ndarray:
    stream = ch.stream(seed)
    packets = [b"p"] * per_image
    return np.concatenate([_mask(stream.transmit(packets, seed=1000 + i)) for i in range(n_images)])


class TestGilbertElliottStream:
    """A row's images through one Markov process (state carried between images)."""

    def test_short_images_match_the_theory(self):
        ge = GilbertElliott.from_loss_rate(0.1, mean_burst_length=4.0)
        lost = _stream_mask(ge, 3000, 4)  # 12k packets, bursts span image boundaries
        n = lost.size
        assert abs(lost.mean() - 0.1) < 5 * np.sqrt(0.1 * 4.0 * 2 / n)
        runs = loss_runs(lost)
        assert runs.mean() == pytest.approx(4.0, rel=5 / np.sqrt(runs.size))

    def test_one_packet_images_are_correlated_not_iid(self):
        ge = GilbertElliott.from_loss_rate(0.1, mean_burst_length=4.0)
        lost = _stream_mask(ge, 5000, 1).astype(float)
        # lag-1 correlation of the loss indicator: 1 - p_gb - p_bg for loss 0/1 states
        theory = 1.0 - ge.p_gb - ge.p_bg
        corr = np.corrcoef(lost[:-1], lost[1:])[0, 1]
        assert corr == pytest.approx(theory, abs=0.1)  # ~125 bursts: se ~ 0.03
        # independent calls (no stream) restart in the stationary state: uncorrelated
        alone = np.array(
            [_mask(ge.transmit([b"p"], seed=1000 + i))[0] for i in range(5000)], dtype=float
        )
        assert abs(np.corrcoef(alone[:-1], alone[1:])[0, 1]) < 0.07  # se 0.014
        assert abs(alone.mean() - 0.1) < 0.03

    def test_reproducible_and_transmit_unchanged(self):
        ge = GilbertElliott.from_loss_rate(0.2, mean_burst_length=3.0)
        assert np.array_equal(_stream_mask(ge, 50, 4, seed=3), _stream_mask(ge, 50, 4, seed=3))
        assert not np.array_equal(_stream_mask(ge, 50, 4, seed=3), _stream_mask(ge, 50, 4, seed=4))
        a = ge.transmit([b"x"] * 40, seed=5)
        b = ge.transmit([b"x"] * 40, seed=5)
        assert a.packets == b.packets

    def test_stateless_stream_is_transmit(self):
        ch = PacketErasure(0.3)
        stream = ch.stream(0)
        for i in range(5):
            pk = [bytes([i])] * 20
            assert stream.transmit(pk, seed=i).packets == ch.transmit(pk, seed=i).packets
