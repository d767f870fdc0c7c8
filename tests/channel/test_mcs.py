"""The MCS table: stable indices, 5G low-spectral-efficiency rates, search order."""

import pytest

from channel.mcs import MCS, MCS_ORDER, MCS_TABLE, mcs_index, resolve_mcs


def test_original_indices_are_stable():
    labels = [m.label for m in MCS_TABLE[:9]]
    assert labels == [
        "qpsk-0.3333",
        "qpsk-0.5",
        "qpsk-0.6667",
        "16qam-0.5",
        "16qam-0.6667",
        "16qam-0.75",
        "64qam-0.6667",
        "64qam-0.75",
        "64qam-0.8333",
    ]


def test_low_rates_are_5g_low_se_table_entries():
    # TS 38.214 Table 5.1.3.1-3, MCS 0, 2, 4, 6, 8, 10 (QPSK, R x 1024)
    low = MCS_TABLE[9:]
    assert [m.modulation for m in low] == ["qpsk"] * 6
    assert [round(m.code_rate * 1024) for m in low] == [30, 50, 78, 120, 193, 251]


def test_search_order_by_spectral_efficiency():
    se = [MCS_TABLE[i].spectral_efficiency for i in MCS_ORDER]
    assert se == sorted(se) and len(set(MCS_ORDER)) == len(MCS_TABLE)
    assert MCS_ORDER[0] == 9 and MCS_ORDER[-1] == 8


def test_resolve_and_index():
    assert resolve_mcs(("qpsk", 30 / 1024)) == MCS_TABLE[9]
    assert mcs_index(MCS("qpsk", 120 / 1024)) == 12
    assert mcs_index(MCS("qpsk", 0.4)) is None


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MCS("qpsk", 0.01), r"code_rate must lie in \[0.025, 0.95\]"),
        (lambda: MCS("qpsk", 0.99), r"code_rate must lie in \[0.025, 0.95\]"),
        (lambda: resolve_mcs(15), r"mcs index must lie in \[0, 14\]"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()
