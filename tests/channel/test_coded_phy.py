"""CodedPhy in abstract mode (no Sionna import) and adaptive MCS."""

import numpy as np
import pytest

from channel import CodedPhy, select_mcs
from channel.bler_table import load_table
from channel.mcs import MCS_TABLE

K = 232  # payload bits per code block of the small shipped table: 29 bytes


def _blocks(n: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    return [rng.bytes(29) for _ in range(n)]


class TestAbstract:
    @pytest.mark.parametrize(("mcs", "snr_db"), [(1, 0.5), (1, 1.5), (4, 7.5)])
    def test_awgn_block_errors_follow_table(self, mcs, snr_db):
        ch = CodedPhy(mcs, snr_db, block_payload_bits=K)
        p = float(load_table(K).bler(mcs, snr_db))
        d = ch.transmit(_blocks(4000), seed=1)
        assert d.stats["blocks"] == 4000
        assert abs(d.stats["bler"] - p) < 5 * np.sqrt(p * (1 - p) / 4000) + 1e-9
        assert d.loss_rate == d.stats["bler"]  # one block per packet

    def test_packet_of_many_blocks_is_lost_if_any_block_fails(self):
        ch = CodedPhy(1, 1.5, block_payload_bits=K)
        p = float(load_table(K).bler(1, 1.5))
        d = ch.transmit([bytes(29 * 4)] * 2000, seed=2)
        assert d.stats["blocks"] == 8000
        expected = 1 - (1 - p) ** 4
        assert abs(d.loss_rate - expected) < 5 * np.sqrt(expected * (1 - expected) / 2000)

    def test_rayleigh_block_fading_matches_fading_average(self):
        ch = CodedPhy(1, 10.0, fading="rayleigh", block_payload_bits=K)
        d = ch.transmit(_blocks(20000), seed=3)
        p = load_table(K).bler_rayleigh(1, 10.0)
        assert abs(d.stats["bler"] - p) < 5 * np.sqrt(p * (1 - p) / 20000)
        snr = d.stats["per_packet_snr_db"]
        lost = np.array([x is None for x in d.packets])
        assert snr[lost].mean() < snr[~lost].mean() - 5

    def test_cliff(self):
        pk = _blocks(50)
        assert CodedPhy(4, 3.0, block_payload_bits=K).transmit(pk, seed=0).n_lost == 50
        d = CodedPhy(4, 15.0, block_payload_bits=K).transmit(pk, seed=0)
        assert d.packets == pk

    def test_accounting(self):
        ch = CodedPhy(4, 20.0, block_payload_bits=K, symbol_rate_hz=1e3, delay_s=0.25)
        d = ch.transmit([bytes(30), b""], seed=0)  # 240 bits -> 2 blocks; empty -> 1
        g = ch.geometry()
        assert (g.k, g.n, g.n_symbols) == (256, 384, 96)
        assert d.stats["blocks"] == 3
        assert d.bits_on_air == 3 * 384 and d.stats["symbols"] == 3 * 96
        assert d.stats["padding_bits"] == 3 * 232 - 240 and d.stats["crc_bits"] == 72
        assert d.airtime_s == pytest.approx(0.288) and d.latency_s == pytest.approx(0.538)

    def test_ebn0(self):
        a = CodedPhy(3, 4.0, snr_type="ebn0", block_payload_bits=K)
        b = CodedPhy(3, 4.0 + 10 * np.log10(2.0), block_payload_bits=K)  # 16-QAM 1/2
        pk = _blocks(300)
        assert a.transmit(pk, seed=4).packets == b.transmit(pk, seed=4).packets

    def test_reproducible(self):
        ch = CodedPhy(2, 3.5, fading="rayleigh", block_payload_bits=K)
        pk = _blocks(200)
        assert ch.transmit(pk, seed=5).packets == ch.transmit(pk, seed=5).packets
        assert ch.transmit(pk, seed=5).packets != ch.transmit(pk, seed=6).packets


class TestAdaptive:
    @pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
    def test_rate_grows_with_snr_and_meets_target(self, fading):
        chosen = []
        for snr in np.arange(-4.0, 40.0, 1.0):
            idx, expected, met = select_mcs(snr, block_payload_bits=K, fading=fading)
            chosen.append(MCS_TABLE[idx].spectral_efficiency)
            if met:
                assert expected <= 0.1
        assert all(b >= a for a, b in zip(chosen, chosen[1:], strict=False))
        assert chosen[0] == MCS_TABLE[0].spectral_efficiency
        assert chosen[-1] == max(m.spectral_efficiency for m in MCS_TABLE)

    def test_picks_highest_feasible(self):
        table = load_table(K)
        idx, _, met = select_mcs(9.0, block_payload_bits=K, bler_target=0.1)
        assert met
        better = [
            i
            for i in table.curves
            if MCS_TABLE[i].spectral_efficiency > MCS_TABLE[idx].spectral_efficiency
        ]
        assert all(table.bler(i, 9.0) > 0.1 for i in better)

    def test_adaptive_channel_reports_choice(self):
        d = CodedPhy(None, 12.0, adaptive=True, block_payload_bits=K).transmit(_blocks(100), seed=0)
        assert d.stats["bler_target_met"] and d.stats["expected_bler"] <= 0.1
        assert d.stats["mcs_index"] >= 4
        low = CodedPhy(None, -10.0, adaptive=True, block_payload_bits=K)
        d = low.transmit(_blocks(10), seed=0)
        assert d.stats["mcs_index"] == 0 and not d.stats["bler_target_met"]
