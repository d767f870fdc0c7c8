import numpy as np
import pytest

from channel.theory import ber_awgn, ber_rayleigh_bpsk
from channel.uncoded import Uncoded


def _packets(n_packets: int, size: int = 1250, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(n_packets)]


def _tolerance(p: float, n_bits: int) -> float:
    # 5 binomial standard deviations (bit errors within a symbol are correlated for
    # QAM, at most 2 per PAM dimension near these BERs: factor 2 on the variance)
    return 5.0 * np.sqrt(2.0 * p / n_bits) + 1e-6


class TestUncodedBer:
    @pytest.mark.parametrize(
        ("modulation", "esn0_db"),
        [
            ("bpsk", 0.0),
            ("bpsk", 4.0),
            ("bpsk", 7.0),
            ("qpsk", 3.0),
            ("qpsk", 8.0),
            ("16qam", 8.0),
            ("16qam", 12.0),
            ("16qam", 15.0),
            ("64qam", 18.0),
            ("256qam", 24.0),
        ],
    )
    def test_awgn_matches_closed_form(self, modulation, esn0_db):
        packets = _packets(40)  # 400 kbit
        d = Uncoded(modulation, esn0_db).transmit(packets, seed=7)
        expected = float(ber_awgn(modulation, esn0_db))
        assert abs(d.stats["ber"] - expected) < _tolerance(expected, 400_000)

    @pytest.mark.parametrize("ebn0_db", [0.0, 10.0, 20.0])
    def test_rayleigh_bpsk_matches_closed_form(self, ebn0_db):
        d = Uncoded("bpsk", ebn0_db, snr_type="ebn0", fading="rayleigh").transmit(
            _packets(40), seed=3
        )
        expected = float(ber_rayleigh_bpsk(ebn0_db))
        assert abs(d.stats["ber"] - expected) < _tolerance(expected, 400_000)

    def test_ebn0_is_esn0_minus_bits_per_symbol(self):
        a = Uncoded("16qam", 10.0, snr_type="ebn0").transmit(_packets(4), seed=1)
        b = Uncoded("16qam", 10.0 + 10 * np.log10(4), snr_type="esn0").transmit(_packets(4), seed=1)
        assert a.packets == b.packets


class TestUncodedDelivery:
    def test_packets_keep_lengths_and_errors_are_counted(self):
        packets = [b"", b"abc", bytes(range(256)) * 3, b"z"]
        d = Uncoded("64qam", 12.0).transmit(packets, seed=5)
        assert [len(p) for p in d.packets] == [len(p) for p in packets]
        counted = sum(
            int(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())
            for a, b in zip(packets, d.packets, strict=True)
        )
        assert counted == d.stats["bit_errors"] > 0
        assert d.stats["per_packet_bit_errors"].tolist()[0] == 0
        assert d.n_lost == 0

    def test_airtime_and_bits_on_air(self):
        d = Uncoded("64qam", 30.0, symbol_rate_hz=1000.0, delay_s=0.5).transmit([bytes(10)], seed=0)
        assert d.stats["symbols"] == 14  # ceil(80 / 6)
        assert d.bits_on_air == 84 and d.stats["padding_bits"] == 4
        assert d.airtime_s == pytest.approx(0.014)
        assert d.latency_s == pytest.approx(0.514)

    def test_reproducible_from_seed(self):
        ch = Uncoded("qpsk", 2.0, fading="rayleigh")
        assert ch.transmit(_packets(2), seed=4).packets == ch.transmit(_packets(2), seed=4).packets
        assert ch.transmit(_packets(2), seed=4).packets != ch.transmit(_packets(2), seed=5).packets

    def test_packet_coherence_reports_per_packet_snr(self):
        d = Uncoded("qpsk", 10.0, fading="rayleigh", coherence="packet").transmit(
            _packets(200, size=50), seed=2
        )
        snr = d.stats["per_packet_snr_db"]
        assert snr.shape == (200,)
        errors = d.stats["per_packet_bit_errors"]
        # block fading: packets in deep fades carry most of the errors
        assert errors[snr < 0].mean() > 10 * errors[snr > 10].mean()
