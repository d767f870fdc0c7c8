"""The table builder's stages and bookkeeping, with a stand-in for the Sionna link
(a binomial draw from a known probit waterfall), so no Sionna import."""

import csv
import json

import numpy as np
import pytest
from scipy.special import ndtr

from channel import tables
from channel.bler_table import BlerCurve
from channel.mcs import MCS_TABLE


def _fake_point(mcs_index, k_payload, esn0_db, *, seed, target_errors, min_blocks, max_blocks):
    """Batches of 64 blocks from BLER = Q(3 (s - s50)), s50 1 dB above the Shannon limit."""
    s50 = _s50(mcs_index)
    p = float(ndtr(-3.0 * (esn0_db - s50)))
    rng = np.random.default_rng(seed)
    blocks = errors = 0
    while blocks < max_blocks and (blocks < min_blocks or errors < target_errors):
        errors += int(rng.binomial(64, p))
        blocks += 64
        if errors == blocks >= tables.ALL_FAILED_STOP:
            break
    return blocks, errors


def _s50(mcs_index: int) -> float:
    return 10 * np.log10(2 ** MCS_TABLE[mcs_index].spectral_efficiency - 1) + 1.0


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "simulate_point", _fake_point)  # stages call it via the module
    return tmp_path


def _rows(data_dir, k=232):
    with (data_dir / f"bler_k{k}.csv").open() as f:
        return list(csv.DictReader(f))


def _run(data_dir, *args):
    tables.main(["--k-payload", "232", "--data-dir", str(data_dir), *args])


def test_grid_then_tail(data_dir):
    _run(data_dir, "--mcs", "0", "1", "--max-blocks", "256", "--zero-points", "1")
    rows = _rows(data_dir)
    assert {r["source"] for r in rows} == {"grid"}
    assert {r["mcs_index"] for r in rows} == {"0", "1"}
    last = [r for r in rows if r["mcs_index"] == "1"][-1]
    assert last["block_errors"] == "0" and int(last["blocks"]) == 256
    before0 = [r for r in rows if r["mcs_index"] == "0"]

    _run(data_dir, "--mcs", "1", "--tail", "2048", "--tail-errors", "15")
    rows = _rows(data_dir)
    assert [r for r in rows if r["mcs_index"] == "0"] == before0  # other MCS untouched
    tail = [r for r in rows if r["mcs_index"] == "1" and r["source"] == "tail"]
    assert tail
    for r in tail:  # each deepened point stopped at its error target or block budget
        assert int(r["block_errors"]) >= 15 or int(r["blocks"]) == 2048
        assert r["bler"] == f"{int(r['block_errors']) / int(r['blocks']):.6g}"
    meta = json.loads((data_dir / "bler_meta.json").read_text())["232"]
    assert [run["stage"] for run in meta["runs"]] == ["grid", "tail"]
    assert meta["runs"][1]["max_blocks"] == 2048 and meta["runs"][1]["cpu_s"] >= 0
    assert "repeated" in meta["low_rates"]

    mine = sorted((r for r in rows if r["mcs_index"] == "1"), key=lambda r: float(r["esn0_db"]))
    curve = BlerCurve(
        1,
        232,
        int(mine[0]["n"]),
        np.array([float(r["esn0_db"]) for r in mine]),
        np.array([int(r["block_errors"]) for r in mine]),
        np.array([int(r["blocks"]) for r in mine]),
    )
    # the fit recovers the stand-in's waterfall (slope 3 per dB, 50 % at s50)
    assert curve.tail_fit[1] == pytest.approx(3.0, rel=0.3)
    assert curve.snr_for_bler(0.5) == pytest.approx(_s50(1), abs=0.3)
    assert curve.snr_for_bler(1e-4) == pytest.approx(_s50(1) + 3.719 / 3.0, abs=0.3)


def test_refine_adds_mid_points(data_dir):
    _run(data_dir, "--mcs", "2", "--zero-points", "1")
    n_before = len(_rows(data_dir))
    _run(data_dir, "--mcs", "2", "--refine")
    rows = _rows(data_dir)
    assert len(rows) > n_before and any(r["source"] == "refine" for r in rows)


def test_legacy_rows_get_a_source(data_dir):
    path = data_dir / "bler_k232.csv"
    fields = [f for f in tables.FIELDS if f != "source"]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerow(dict.fromkeys(fields, "0") | {"blocks": "64", "esn0_db": "0.0"})
    _run(data_dir, "--mcs", "3", "--zero-points", "1")
    rows = _rows(data_dir)
    assert [r["source"] for r in rows if r["mcs_index"] == "0"] == [tables.LEGACY_SOURCE]


@pytest.mark.parametrize(
    ("args", "match"),
    [(["--mcs", "99"], "unknown indices"), (["--tail", "-1"], "--tail must be >= 0")],
)
def test_bad_arguments(data_dir, args, match):
    with pytest.raises(SystemExit, match=match):
        _run(data_dir, *args)
