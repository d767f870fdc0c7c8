"""CodedPhy bit-true link mode (Sionna) against the abstraction, in the waterfall and in
the tail, and the low-rate repetition chain. Slow: imports Sionna (~7 s) and decodes
~5000 short LDPC code blocks (~1-2 min on one loaded core)."""

import numpy as np
import pytest
import torch

from channel import CodedPhy
from channel.bler_table import load_table

pytestmark = pytest.mark.slow

K = 232  # 29-byte packets: one code block each
N_BLOCKS = 192


@pytest.fixture(autouse=True)
def _one_thread():
    # Sionna's small ops run 2-4x faster on one thread on these shared cores
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _packets(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(29) for _ in range(n)]


@pytest.mark.parametrize(
    ("mcs", "snr_db"),
    [(1, 1.25), (1, 1.75), (4, 9.0), (4, 9.75), (12, -6.0)],  # on and between grid points
)
def test_link_bler_matches_abstract(mcs, snr_db):
    expected = float(load_table(K).bler(mcs, snr_db))
    d = CodedPhy(mcs, snr_db, mode="link", block_payload_bits=K).transmit(
        _packets(N_BLOCKS), seed=11
    )
    measured = d.stats["bler"]
    # 4 binomial sd of this run + 0.04 for the table's own Monte-Carlo and
    # interpolation error (0.5 dB grid)
    tol = 4 * np.sqrt(expected * (1 - expected) / N_BLOCKS) + 0.04
    assert abs(measured - expected) < tol, (measured, expected, tol)


@pytest.mark.parametrize(("mcs", "snr_db"), [(1, 2.25), (1, 2.5)])
def test_link_tail_matches_abstract(mcs, snr_db):
    """BLER ~1e-2 and ~3e-3: the old tables read 0 past their last error."""
    n = 1536
    curve = load_table(K).curve(mcs)
    expected = float(curve(snr_db))
    assert 1e-3 < expected < 3e-2
    d = CodedPhy(mcs, snr_db, mode="link", block_payload_bits=K).transmit(
        _packets(n, seed=7), seed=8
    )
    errors, lam = d.stats["block_errors"], n * expected
    # 4 sd of (Poisson count of this run + the table's own relative error, 1/sqrt of
    # the errors observed at the nearest table point)
    j = int(np.argmin(np.abs(curve.esn0_db - snr_db)))
    table_rel_var = 1.0 / max(int(curve.errors[j]), 1)
    tol = 4 * np.sqrt(lam + lam**2 * table_rel_var)
    assert abs(errors - lam) <= tol, (errors, lam, tol)


def test_low_rate_repetition_is_maximum_ratio_combining():
    """QPSK code rate 0.1 sends the rate-1/5 codeword twice; adding the copies' LLRs
    (MRC) is worth exactly 10 log10(2) dB on AWGN, so its BLER equals the rate-1/5
    code's 3.01 dB higher."""
    n, snr = 256, -6.5
    rep = CodedPhy(("qpsk", 0.1), snr, mode="link", block_payload_bits=K)
    mother = CodedPhy(("qpsk", 0.2), snr + 10 * np.log10(2.0), mode="link", block_payload_bits=K)
    assert rep.geometry().repetition == 2.0 and mother.geometry().repetition == 1.0
    a = rep.transmit(_packets(n, seed=9), seed=10).stats["bler"]
    b = mother.transmit(_packets(n, seed=11), seed=12).stats["bler"]
    p = 0.5 * (a + b)
    assert 0.05 < p < 0.95, (a, b)  # in the waterfall, so the comparison means something
    assert abs(a - b) < 4 * np.sqrt(2 * p * (1 - p) / n), (a, b)


def test_link_delivers_exact_bytes_or_loses_packet():
    pk = _packets(64, seed=1) + [b"", bytes(100)]  # multi-block packet of 800 bits
    d = CodedPhy(1, 1.0, mode="link", block_payload_bits=K).transmit(pk, seed=2)
    assert 0 < d.n_lost < len(pk)
    assert all(r is None or r == p for r, p in zip(d.packets, pk, strict=True))
    assert d.stats["blocks"] == 64 + 1 + 4
    assert d.stats["undetected_block_errors"] == 0 and d.stats["bit_errors"] == 0
    clean = CodedPhy(1, 6.0, mode="link", block_payload_bits=K).transmit(pk, seed=2)
    assert clean.packets == pk


def test_link_rayleigh_block_fading_matches_abstract():
    n = 192
    ch = CodedPhy(("qpsk", 0.5), 8.0, fading="rayleigh", mode="link", block_payload_bits=K)
    d = ch.transmit(_packets(n, seed=3), seed=4)
    expected = load_table(K).bler_rayleigh(1, 8.0)
    tol = 4 * np.sqrt(expected * (1 - expected) / n) + 0.04
    assert abs(d.stats["bler"] - expected) < tol, (d.stats["bler"], expected)
    # per-packet SNR comes from the drawn fades: lost packets sit in deep fades
    snr = d.stats["per_packet_snr_db"]
    lost = np.array([p is None for p in d.packets])
    assert snr[lost].max() < 4.0 < np.median(snr)


def test_link_reproducible_and_untabled_rate():
    pk = _packets(32, seed=5)
    ch = CodedPhy(("16qam", 0.4), 6.0, mode="link", block_payload_bits=K)
    a, b = ch.transmit(pk, seed=6), ch.transmit(pk, seed=6)
    assert a.packets == b.packets
    assert a.stats["info_bits_per_symbol"] == pytest.approx(232 / 160)
