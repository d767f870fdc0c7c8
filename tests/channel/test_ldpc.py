"""Code-block geometry, low rates by repetition of the rate-1/5 codeword (no Sionna)."""

import pytest

from channel.ldpc_link import MIN_LDPC_RATE, block_geometry
from channel.mcs import MCS, MCS_TABLE


@pytest.mark.parametrize("k_payload", [232, 1000])
@pytest.mark.parametrize("idx", range(15))
def test_geometry(k_payload, idx):
    mcs = MCS_TABLE[idx]
    g = block_geometry(mcs, k_payload)
    m = mcs.bits_per_symbol
    assert g.k == k_payload + 24 and g.n == g.n_symbols * m
    assert g.effective_rate == pytest.approx(mcs.code_rate, rel=0.01)
    if mcs.code_rate >= MIN_LDPC_RATE:
        assert g.n_mother == g.n and g.repetition == 1.0
    else:
        assert g.n_mother == m * (5 * g.k // m) and g.k / g.n_mother >= MIN_LDPC_RATE
        assert g.repetition == pytest.approx(MIN_LDPC_RATE / mcs.code_rate, rel=0.01)


def test_integer_repetition():
    g = block_geometry(MCS("qpsk", 0.1), 232)  # exactly twice the rate-1/5 codeword
    assert (g.n, g.n_mother, g.repetition) == (2560, 1280, 2.0)
