import math

import numpy as np
import pytest
import torch
from scipy.special import gamma, roots_genlaguerre

import codec
from channel import Analog
from collab_infer.analog_tx import (
    AnalogPrior,
    copies_per_value,
    leave_one_out,
    planned_channel_uses,
    send_payload,
    side_message,
    side_packets,
)

ROWS, DIM = 128, 64
SD = np.linspace(0.2, 2.0, DIM)


@pytest.fixture(scope="module")
def gaussian():
    """Values with known per-dimension mean and variance, and the exact prior."""
    rng = np.random.default_rng(0)
    mu = rng.normal(0.0, 3.0, DIM)
    v = mu + SD * rng.standard_normal((ROWS, DIM))
    return codec.FullPayload(torch.from_numpy(v).float()), AnalogPrior(mu, SD**2)


def closed_form_mse(snr_db, ratio, fading, equalizer, scale):
    """Mean over values of the per-value MSE of the module docstring."""
    g = 10 ** (snr_db / 10)
    m = ROWS * DIM
    var = np.tile(SD**2, ROWS)
    copies = copies_per_value(m, math.ceil(ratio * m - 1e-9), var)
    out = np.where(copies == 0, var, 0.0)  # dropped: the prior variance
    for n in np.unique(copies[copies > 0]):
        sel = copies == n
        if fading == "awgn":
            if equalizer == "zf":
                out[sel] = scale**2 / (g * n)
            else:
                out[sel] = var[sel] / (1 + g * n * var[sel] / scale**2)
        else:  # G ~ Gamma(n, 1): E[f(G)] by generalised Gauss-Laguerre
            x, w = roots_genlaguerre(60, n - 1)
            f = var[sel, None] / (1 + g * x[None, :] * var[sel, None] / scale**2)
            out[sel] = (f * w).sum(1) / gamma(n)
    return float(out.mean())


class TestValueMSE:
    @pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
    @pytest.mark.parametrize("ratio", [0.25, 0.5, 1.25, 2.0])
    @pytest.mark.parametrize("equalizer", ["mmse", "zf"])
    def test_awgn_matches_closed_form(self, gaussian, snr_db, ratio, equalizer):
        p, prior = gaussian
        ch = Analog(snr_db, equalizer=equalizer, bandwidth_ratio=ratio)
        _, d = send_payload(ch, p, seed=1, prior=prior)
        expect = closed_form_mse(snr_db, ratio, "awgn", equalizer, d.stats["scale"])
        # 8192 values: measured spread of the ratio ~1.5% (seeds), 6% is > 4 sigma
        assert d.stats["mse"] == pytest.approx(expect, rel=0.06)

    @pytest.mark.parametrize("snr_db", [0.0, 10.0])
    @pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
    def test_rayleigh_mmse_matches_closed_form(self, gaussian, snr_db, ratio):
        p, prior = gaussian
        ch = Analog(snr_db, fading="rayleigh", bandwidth_ratio=ratio)
        ratios = []
        for seed in range(4):  # one run's spread is ~4% (heavy-tailed fades)
            _, d = send_payload(ch, p, seed=seed, prior=prior)
            expect = closed_form_mse(snr_db, ratio, "rayleigh", "mmse", d.stats["scale"])
            ratios.append(d.stats["mse"] / expect)
        assert np.mean(ratios) == pytest.approx(1.0, abs=0.08)

    def test_prior_and_mean_removal_help(self, gaussian):
        p, prior = gaussian
        ch = Analog(5.0)
        with_prior = send_payload(ch, p, seed=2, prior=prior)[1].stats["mse"]
        without = send_payload(ch, p, seed=2)[1].stats["mse"]
        assert with_prior < 0.5 * without  # the mean (variance 9) dominates the power

    def test_more_bandwidth_less_error(self, gaussian):
        p, prior = gaussian
        errs = [
            send_payload(Analog(5.0, bandwidth_ratio=r), p, seed=3, prior=prior)[1].stats["mse"]
            for r in (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
        ]
        assert all(b < a for a, b in zip(errs, errs[1:], strict=False))

    def test_dropped_values_are_the_least_important(self, gaussian):
        p, prior = gaussian
        rx, d = send_payload(Analog(30.0, bandwidth_ratio=0.25), p, seed=0, prior=prior)
        assert d.stats["values_sent"] == ROWS * DIM // 2
        # the half of the dimensions with the lowest prior variance arrive as the mean
        low = np.argsort(SD)[: DIM // 2]
        got = rx.vectors.double().numpy()
        assert np.allclose(got[:, low], prior.mean[low], atol=1e-5)
        high = np.argsort(SD)[DIM // 2 :]
        assert not np.allclose(got[:, high], prior.mean[high], atol=0.1)


class TestAccounting:
    @pytest.mark.parametrize("ratio", [0.3, 0.5, 1.5])
    def test_channel_uses_exact(self, ratio):
        p = codec.VQPayload(torch.randn(8, 48), torch.randint(0, 8, (256,)))
        ch = Analog(12.0, bandwidth_ratio=ratio, symbol_rate_hz=1e5, delay_s=0.01)
        rx, d = send_payload(ch, p, seed=5, mtu=40)
        message = side_message(p, d.stats["scale"])
        packets = side_packets(message, 40)
        side = ch.side_channel().transmit(packets, seed=_side_seed(5))
        analog = math.ceil(ratio * 8 * 48 - 1e-9)
        assert d.stats["analog_symbols"] == analog
        assert d.stats["side_symbols"] == side.channel_uses == side.stats["symbols"] > 0
        assert d.channel_uses == analog + side.channel_uses
        assert d.bits_on_air == side.bits_on_air
        assert d.airtime_s == pytest.approx(analog / 1e5 + side.airtime_s)
        assert d.latency_s == pytest.approx(d.airtime_s + 0.01)
        assert d.stats["side_bytes"] == len(message) == len(codec.encode_side_info(p)) + 8
        assert len(d.packets) == len(packets) == math.ceil(len(message) / 40)
        assert planned_channel_uses(ch, p, mtu=40) == d.channel_uses
        assert torch.equal(rx.indices, p.indices) and rx.centroids.dtype == torch.float32

    def test_side_info_lost_at_very_low_snr_loses_the_image(self):
        p = codec.SubsetPayload(torch.randn(5, 16), torch.tensor([0, 3, 4, 9, 11]), 16)
        # -30 dB: capacity 0.0014 bit/use, below the rate of every MCS
        rx, d = send_payload(Analog(-30.0), p, seed=0)
        assert rx is None and d.stats["side_lost"] == 1 and d.n_lost >= 1
        assert d.stats["side_info_bits_per_use"] == 0.0
        fixed = Analog(-5.0, side_link={"name": "coded_phy", "mcs": 1})  # QPSK-1/2: 1 bit/use
        rx, d = send_payload(fixed, p, seed=0)
        assert rx is None and d.stats["side_lost"] == 1
        rx, d = send_payload(Analog(25.0), p, seed=0)
        assert d.stats["side_lost"] == 0 and torch.equal(rx.positions, p.positions)

    @pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
    def test_side_info_never_above_capacity(self, fading):
        p = codec.VQPayload(torch.randn(8, 16), torch.randint(0, 8, (256,)))
        for snr_db in (-8.0, -4.0, -2.0, 0.0, 2.0, 6.0, 12.0, 20.0):
            ch = Analog(snr_db, fading=fading)
            rates = [send_payload(ch, p, seed=s)[1].stats for s in range(60)]
            mean_rate = np.mean([s["side_info_bits_per_use"] for s in rates])
            cap = rates[0]["side_capacity_per_use"]
            assert cap == pytest.approx(ch.capacity_per_use())
            assert mean_rate <= cap, (snr_db, mean_rate, cap)
            assert all(s["side_capacity_ratio"] >= 1.0 for s in rates)

    def test_reproducible_and_stream_equals_channel(self):
        p = codec.FullPayload(torch.randn(16, 32))
        ch = Analog(5.0, fading="rayleigh")
        a, da = send_payload(ch, p, seed=4)
        b, db = send_payload(ch.stream(0), p, seed=4)  # stateless side link: the same
        assert torch.equal(a.vectors, b.vectors) and not torch.equal(a.vectors, p.vectors)
        assert da.channel_uses == db.channel_uses

    def test_bad_inputs(self):
        p = codec.FullPayload(torch.randn(4, 8))
        with pytest.raises(ValueError, match="prior has D=3"):
            send_payload(Analog(5.0), p, seed=0, prior=AnalogPrior(np.zeros(3), np.ones(3)))
        with pytest.raises(TypeError, match="link must be a channel.Analog"):
            send_payload(object(), p, seed=0)
        with pytest.raises(ValueError, match="mtu must be an int >= 1"):
            send_payload(Analog(5.0), p, seed=0, mtu=0)
        with pytest.raises(ValueError, match="var finite and > 0"):
            AnalogPrior(np.zeros(2), np.array([1.0, 0.0]))


def _side_seed(seed: int) -> int:
    return int(np.random.SeedSequence([seed, 1]).generate_state(1, dtype=np.uint64)[0] >> 1)


def test_leave_one_out_excludes_the_image():
    rng = np.random.default_rng(1)
    vals = [rng.normal(i, 1.0, (4, 3)) for i in range(3)]
    priors = leave_one_out(vals)
    for i, pr in enumerate(priors):
        rest = np.concatenate([v for j, v in enumerate(vals) if j != i])
        assert np.allclose(pr.mean, rest.mean(0)) and np.allclose(pr.var, rest.var(0))
    assert leave_one_out(vals[:1]) == [None]
    with pytest.raises(ValueError, match="same D"):
        leave_one_out([np.zeros((2, 3)), np.zeros((2, 4))])
