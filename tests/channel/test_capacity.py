import numpy as np
import pytest
from scipy.special import exp1

from channel import CodedPhy, Uncoded
from channel.bler_table import available_block_sizes, load_table
from channel.capacity import check_capacity, rayleigh_capacity, shannon_capacity
from channel.modulation import MODULATIONS

SNRS = np.arange(-6.0, 32.0, 0.5)


def test_capacity_formulas():
    assert shannon_capacity(0.0) == pytest.approx(1.0)
    # E[log2(1 + g)], g ~ Exp(1), is e * E1(1) / ln 2
    assert rayleigh_capacity(0.0) == pytest.approx(np.e * exp1(1.0) / np.log(2), abs=1e-4)
    x = np.random.default_rng(0).exponential(size=400_000)
    assert rayleigh_capacity(10.0) == pytest.approx(np.mean(np.log2(1 + 10 * x)), abs=0.01)


@pytest.mark.parametrize("k_payload", available_block_sizes())
@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_coded_phy_never_beats_shannon(k_payload, fading):
    for mcs in sorted(load_table(k_payload).curves):
        for snr in SNRS:
            ch = CodedPhy(mcs, float(snr), fading=fading, block_payload_bits=k_payload)
            c = check_capacity(ch)
            assert c.ok, (mcs, snr, c)


@pytest.mark.parametrize("modulation", list(MODULATIONS))
def test_uncoded_never_beats_shannon(modulation):
    for snr in SNRS:
        assert check_capacity(Uncoded(modulation, float(snr))).ok
    assert check_capacity(Uncoded("bpsk", 5.0, fading="rayleigh")).ok


def test_measured_ber_and_missing_closed_form():
    ch = Uncoded("16qam", 10.0, fading="rayleigh")
    d = ch.transmit([np.random.default_rng(0).bytes(5000)], seed=0)
    assert check_capacity(ch, ber=d.stats["ber"]).ok
    with pytest.raises(ValueError, match="ber: pass a measured BER"):
        check_capacity(ch)
