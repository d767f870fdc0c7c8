import math

import numpy as np
import pytest

import channel
from channel import Analog, Chain
from channel.capacity import capacity_per_use


class TestSymbolChannel:
    @pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
    @pytest.mark.parametrize("snr_db", [0.0, 10.0])
    def test_noise_after_equalisation(self, fading, snr_db):
        n = 40_000
        x = np.exp(2j * np.pi * np.random.default_rng(0).random(n))  # unit power
        rx = Analog(snr_db, fading=fading).transmit_symbols(x, seed=1)
        no = 10 ** (-snr_db / 10)
        assert rx.noise_var == pytest.approx(no)
        assert rx.channel_uses == n and rx.airtime_s == pytest.approx(n / 1e6)
        # noise scaled by sqrt(gain) is CN(0, N0): variance within ~4 standard errors
        w = (rx.y - x) * np.sqrt(rx.gain)
        assert np.mean(np.abs(w) ** 2) == pytest.approx(no, rel=4 * math.sqrt(1 / n) * 1.5)
        if fading == "awgn":
            assert np.all(rx.gain == 1.0)
        else:  # |h|^2 ~ Exp(1)
            assert rx.gain.mean() == pytest.approx(1.0, abs=0.02)
            assert np.mean(rx.gain < 0.1) == pytest.approx(1 - math.exp(-0.1), abs=0.01)

    def test_power_constraint_and_shapes(self):
        ch = Analog(5.0)
        with pytest.raises(ValueError, match=r"mean energy 4 > 1 \(Es\)"):
            ch.transmit_symbols(np.full(3, 2.0 + 0j), seed=0)
        with pytest.raises(ValueError, match="1-D array"):
            ch.transmit_symbols(np.ones((2, 2), dtype=complex), seed=0)
        with pytest.raises(ValueError, match="non-finite"):
            ch.transmit_symbols(np.array([np.nan + 0j]), seed=0)
        empty = ch.transmit_symbols(np.zeros(0, dtype=complex), seed=0)
        assert empty.channel_uses == 0 and empty.y.size == 0

    def test_reproducible(self):
        x = np.ones(16, dtype=complex) / 2
        a = Analog(3.0, fading="rayleigh").transmit_symbols(x, seed=7)
        b = Analog(3.0, fading="rayleigh").transmit_symbols(x, seed=7)
        assert np.array_equal(a.y, b.y) and np.array_equal(a.gain, b.gain)

    @pytest.mark.parametrize(
        "ratio, n_values, uses",
        [(0.5, 15, 8), (0.5, 16, 8), (0.25, 10, 3), (2.0, 5, 10), (0.1, 0, 0)],
    )
    def test_analog_uses(self, ratio, n_values, uses):
        assert Analog(0.0, bandwidth_ratio=ratio).analog_uses(n_values) == uses

    def test_capacity(self):
        assert Analog(10.0).capacity_per_use() == pytest.approx(math.log2(11.0))
        assert Analog(10.0, fading="rayleigh").capacity_per_use() == pytest.approx(
            capacity_per_use(10.0, "rayleigh")
        )

    def test_byte_packets_are_refused(self):
        with pytest.raises(TypeError, match="send_payload"):
            Analog(5.0).transmit([b"x"], seed=0)
        with pytest.raises(TypeError, match="send_payload"):
            Chain(Analog(5.0)).transmit([b"x"], seed=0)
        with pytest.raises(TypeError, match="planned_channel_uses"):
            Analog(5.0).planned_channel_uses([b"x"])


class TestSideLink:
    def test_default_is_adaptive_coded_phy_at_the_same_snr_and_fading(self):
        side = Analog(7.0, fading="rayleigh", symbol_rate_hz=2e6).side_channel()
        assert side.describe()["name"] == "coded_phy"
        assert (side.snr_db, side.fading, side.adaptive, side.mode) == (
            7.0,
            "rayleigh",
            True,
            "abstract",
        )
        assert side.symbol_rate_hz == 2e6 and side.block_payload_bits == 232

    def test_configurable(self):
        a = Analog(7.0, side_link={"name": "coded_phy", "mcs": 1, "snr_db": 3.0})
        side = a.side_channel()
        assert (side.mcs, side.snr_db, side.adaptive) == (1, 3.0, False)
        params = a.describe()
        assert params.pop("name") == "analog" and channel.make("analog", **params) == a

    @pytest.mark.parametrize(
        "side_link, message",
        [
            ({"name": "ideal"}, "not a physical link"),
            ({"name": "rate_limited", "bandwidth_bps": 1e6}, "side_link 'rate_limited'"),
            ({"name": "analog"}, "side information is digital"),
            ({"mcs": 1}, "needs a 'name' key"),
            ({"name": "coded_phy", "mcs": 99}, "side_link 'coded_phy'"),
            ("coded_phy", "side_link must be a dict"),
        ],
    )
    def test_impossible_side_links_are_refused(self, side_link, message):
        with pytest.raises((ValueError, TypeError), match=message):
            Analog(5.0, side_link=side_link)

    def test_stream_carries_the_side_link(self):
        s = Analog(10.0).stream(3)
        d = s.transmit_side([bytes(50)], seed=1)
        assert d.packets == Analog(10.0).transmit_side([bytes(50)], seed=1).packets
        with pytest.raises(TypeError, match="send_payload"):
            s.transmit([b"x"], seed=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bandwidth_ratio": 0.0}, "bandwidth_ratio must be > 0"),
        ({"equalizer": "ml"}, "unknown equalizer"),
        ({"fading": "rician"}, "unknown fading"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Analog(3.0, **kwargs)
