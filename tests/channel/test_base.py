import numpy as np
import pytest

import channel
from channel import Chain, Ideal, PacketErasure, RateLimited, Uncoded


class TestIdealAndRate:
    def test_ideal(self):
        d = Ideal().transmit([b"ab", b""], seed=0)
        assert d.packets == [b"ab", b""]
        assert (d.bits_on_air, d.airtime_s, d.latency_s) == (16, 0.0, 0.0)

    def test_rate_limited(self):
        d = RateLimited(8000.0, delay_s=0.1, per_packet_overhead_bits=40).transmit(
            [bytes(100), bytes(50)], seed=0
        )
        assert d.bits_on_air == 1200 + 80
        assert d.airtime_s == pytest.approx(1280 / 8000)
        assert d.latency_s == pytest.approx(1280 / 8000 + 0.1)
        assert d.n_lost == 0


class TestChain:
    def test_costs_add_and_losses_compose(self):
        packets = [bytes([i % 256]) * 20 for i in range(400)]
        chain = Chain(RateLimited(1e5, delay_s=0.01), PacketErasure(0.5), RateLimited(2e5))
        d = chain.transmit(packets, seed=3)
        first = 400 * 160
        survivors = sum(p is not None for p in d.packets)
        assert 150 < survivors < 250
        assert d.bits_on_air == first + survivors * 160
        assert d.airtime_s == pytest.approx(first / 1e5 + survivors * 160 / 2e5)
        assert d.latency_s == pytest.approx(d.airtime_s + 0.01)
        assert [s["name"] for s in d.stats["stages"]] == ["rate_limited", "erasure", "rate_limited"]
        assert all(p is None or p == q for p, q in zip(d.packets, packets, strict=True))

    def test_loss_only_chain_reports_offered_bits(self):
        d = Chain(PacketErasure(0.2), Ideal()).transmit([bytes(10)] * 5, seed=0)
        assert d.bits_on_air == 400 and d.airtime_s == 0.0

    def test_damage_passes_on_and_bit_errors_add(self):
        packets = [np.random.default_rng(0).bytes(500)]
        d = Chain(Uncoded("16qam", 8.0), Uncoded("16qam", 8.0)).transmit(packets, seed=1)
        s0, s1 = (s["stats"]["bit_errors"] for s in d.stats["stages"])
        assert d.stats["bit_errors"] == s0 + s1 > 0
        final = int(
            np.unpackbits(
                np.frombuffer(d.packets[0], np.uint8) ^ np.frombuffer(packets[0], np.uint8)
            ).sum()
        )
        assert 0 < final <= s0 + s1

    def test_reproducible_and_describe(self):
        chain = Chain(PacketErasure(0.3), Uncoded("qpsk", 3.0))
        pk = [bytes(30)] * 20
        assert chain.transmit(pk, seed=5).packets == chain.transmit(pk, seed=5).packets
        assert chain.describe() == {
            "name": "chain",
            "stages": [
                {"name": "erasure", "loss": 0.3},
                {
                    "name": "uncoded",
                    "modulation": "qpsk",
                    "snr_db": 3.0,
                    "snr_type": "esn0",
                    "fading": "awgn",
                    "coherence": "symbol",
                    "symbol_rate_hz": 1e6,
                    "delay_s": 0.0,
                },
            ],
        }

    def test_rejects_non_channels(self):
        with pytest.raises(ValueError, match="stages: Chain needs at least one"):
            Chain()
        with pytest.raises(TypeError, match=r"stages\[1\] must be a channel model"):
            Chain(Ideal(), "erasure")


class TestRegistry:
    def test_names(self):
        assert set(channel.CHANNELS.names()) == {
            "ideal",
            "rate_limited",
            "erasure",
            "gilbert_elliott",
            "uncoded",
            "coded_phy",
            "analog",
            "chain",
            "nr",
        }

    def test_make_round_trips_describe(self):
        for ch in [
            channel.make("ideal"),
            channel.make("rate_limited", bandwidth_bps=1e6, delay_s=0.01),
            channel.make("erasure", loss=0.1),
            channel.make("gilbert_elliott", p_gb=0.1, p_bg=0.5),
            channel.make("uncoded", modulation="16qam", snr_db=10.0),
            channel.make("coded_phy", mcs=3, snr_db=9.0, block_payload_bits=232),
            channel.make("analog", snr_db=5.0),
        ]:
            params = ch.describe()
            name = params.pop("name")
            assert channel.make(name, **params) == ch

    def test_make_chain_and_ge_by_loss_rate(self):
        ch = channel.make(
            "chain",
            stages=[
                {"name": "erasure", "loss": 0.1},
                {"name": "rate_limited", "bandwidth_bps": 1e3},
            ],
        )
        assert isinstance(ch, Chain) and len(ch.stages) == 2
        ge = channel.make("gilbert_elliott", loss_rate=0.1, mean_burst_length=2.0)
        assert ge.p_bg == 0.5

    def test_unknown_name_and_parameter(self):
        with pytest.raises(ValueError, match="Did you mean 'erasure'"):
            channel.make("erasur", loss=0.1)
        with pytest.raises(
            ValueError, match=r"unknown parameter\(s\) los for channel 'erasure'; valid: loss"
        ):
            channel.make("erasure", los=0.1)
