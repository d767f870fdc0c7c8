"""Channel cost of every model: channel_uses, planned_channel_uses, capacity_per_use."""

import math

import numpy as np
import pytest

import channel
from channel import Chain, GilbertElliott, Ideal, PacketErasure, RateLimited, Uncoded
from channel.capacity import capacity_per_use, rayleigh_capacity

PACKETS = [bytes(range(25)), bytes(7), b""]  # 256 bits


class TestLossAndRateModels:
    @pytest.mark.parametrize(
        "ch",
        [Ideal(), PacketErasure(0.3), GilbertElliott(0.1, 0.5), RateLimited(1e6, delay_s=0.1)],
        ids=["ideal", "erasure", "ge", "rate"],
    )
    def test_no_channel_uses_and_no_capacity(self, ch):
        d = ch.transmit(PACKETS, seed=0)
        assert d.channel_uses == 0.0
        assert ch.planned_channel_uses(PACKETS) == 0.0
        assert ch.capacity_per_use() is None

    def test_rate_limited_cost_is_airtime(self):
        d = RateLimited(1e6, per_packet_overhead_bits=8).transmit(PACKETS, seed=0)
        assert d.bits_on_air == 256 + 24 and d.airtime_s == pytest.approx(280e-6)


class TestUncoded:
    @pytest.mark.parametrize(
        "modulation, uses", [("bpsk", 256), ("qpsk", 128), ("16qam", 64), ("64qam", 43)]
    )
    def test_symbols_with_padding(self, modulation, uses):
        ch = Uncoded(modulation, snr_db=10.0)
        d = ch.transmit(PACKETS, seed=1)
        assert d.channel_uses == uses == d.stats["symbols"]  # 256 / 6 -> 43 (padded)
        assert ch.planned_channel_uses(PACKETS) == uses
        assert d.bits_on_air == uses * ch.bits_per_symbol

    @pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
    def test_capacity_at_esn0(self, fading):
        ch = Uncoded("16qam", snr_db=3.0, snr_type="ebn0", fading=fading)
        esn0 = 3.0 + 10 * math.log10(4)
        assert ch.capacity_per_use() == pytest.approx(capacity_per_use(esn0, fading))

    def test_never_above_capacity_in_its_own_accounting(self):
        # hard-decision uncoded delivers m (1 - H2(BER)) <= capacity bits per use
        for snr_db in (-3.0, 3.0, 12.0):
            ch = Uncoded("qpsk", snr_db=snr_db)
            d = ch.transmit([np.random.default_rng(0).bytes(4000)], seed=2)
            p = max(d.stats["ber"], 1e-12)
            h2 = -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
            info = 8 * 4000 * (1 - h2) / d.channel_uses
            assert info <= ch.capacity_per_use()


class TestChain:
    def test_uses_add_capacity_is_the_bottleneck(self):
        a, b = Uncoded("qpsk", snr_db=20.0), Uncoded("16qam", snr_db=5.0)
        assert a.capacity_per_use() > b.capacity_per_use()
        chain = Chain(a, PacketErasure(0.0), RateLimited(1e6), b)
        d = chain.transmit(PACKETS, seed=0)
        assert d.channel_uses == 128 + 64
        assert chain.planned_channel_uses(PACKETS) == 128 + 64
        assert chain.capacity_per_use() == pytest.approx(math.log2(1 + 10**0.5))  # b's
        assert Chain(Ideal(), PacketErasure(0.1)).capacity_per_use() is None

    def test_stream_carries_each_stage(self):
        ge = GilbertElliott.from_loss_rate(0.3, mean_burst_length=5.0)
        chain = Chain(ge, Ideal())
        a, b = chain.stream(4), chain.stream(4)
        got = [[p is None for p in a.transmit([b"x"], seed=i).packets] for i in range(200)]
        assert got == [[p is None for p in b.transmit([b"x"], seed=i).packets] for i in range(200)]
        lost = np.array(got, dtype=float).ravel()
        assert np.corrcoef(lost[:-1], lost[1:])[0, 1] > 0.4  # bursts span images
        # a stateless chain's stream is its transmit
        plain = Chain(PacketErasure(0.5), Uncoded("qpsk", 3.0))
        s = plain.stream(0)
        for i in range(3):
            assert s.transmit(PACKETS, seed=i).packets == plain.transmit(PACKETS, seed=i).packets


def test_capacity_helper():
    assert capacity_per_use(10.0) == pytest.approx(math.log2(11))
    assert capacity_per_use(10.0, "rayleigh") == pytest.approx(rayleigh_capacity(10.0))
    assert capacity_per_use(10.0, "rayleigh") < capacity_per_use(10.0)
    with pytest.raises(ValueError, match="unknown fading 'rician'"):
        capacity_per_use(1.0, "rician")


def test_every_registered_physical_model_reports_capacity():
    for ch in [
        channel.make("uncoded", modulation="qpsk", snr_db=4.0),
        channel.make("analog", snr_db=4.0),
    ]:
        assert ch.capacity_per_use() == pytest.approx(math.log2(1 + 10**0.4))
