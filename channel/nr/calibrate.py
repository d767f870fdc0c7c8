"""Calibration of the NR abstraction against the bit-true link: one command,

    python -m channel.nr.calibrate [--quick] [--out channel/data/nr_calibration.csv]
    python -m channel.nr.calibrate --estimator lmmse --channel awgn --channel tdl-c:30 --mcs 14

For each channel (AWGN; TDL-A and TDL-C at 3 and 30 m/s), MCS and SNR point it sends the
same transmissions through both modes: AWGN 60 TBs, fading 64 images (seeds 0..63) of one
TB each (independent realisations: TBs of one image share a channel at 3 m/s), first
transmissions only (``harq_max_tx=1``), 4 PRBs x 14 symbols, LS channel estimation.
Both modes see the same fading realisation per seed, so the link's TB error count is
compared with the abstraction's *expected* count on the very same channels
(``abstract_tbler`` = mean predicted TBLER): the only randomness left is the link's noise
and decoding.

Rows: ``model, speed_mps, estimator, mcs_index, snr_db, n_tb, link_errors, link_tbler,
link_ci_low, link_ci_high`` (Wilson 95%), ``abstract_tbler``. A second file
``nr_calibration_10pct.csv`` holds each curve's SNR at TBLER 0.1 for both modes
(log-linear interpolation between the points that bracket 0.1).

SNR points are placed around the abstraction's own 10% point (found first, cheaply), so
the link runs are spent in the waterfall. Curves already in ``--out`` are kept and
skipped (an interrupted run resumes). Cost: a few CPU-minutes on these CPUs;
``--quick`` runs a reduced set for smoke tests.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from pathlib import Path

import numpy as np

__all__ = ["run", "ten_percent_point", "wilson"]

DATA = Path(__file__).resolve().parent.parent / "data"
CHANNELS = [("awgn", None), ("tdl-a", 3.0), ("tdl-a", 30.0), ("tdl-c", 3.0), ("tdl-c", 30.0)]
MCS_AWGN = (5, 14, 20)
MCS_FADING = (5, 14)
GRANT = dict(n_prb=4, n_symbols=14, harq_max_tx=1, estimator="ls")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def ten_percent_point(snr: np.ndarray, tbler: np.ndarray, floor: float) -> float:
    """SNR where the curve crosses 0.1 (log-linear between bracketing points; NaN if it
    does not cross). ``floor`` replaces zeros (half an error over the point's TBs)."""
    order = np.argsort(snr)
    s, y = np.asarray(snr)[order], np.log10(np.maximum(np.asarray(tbler)[order], floor))
    t = -1.0
    for i in range(len(s) - 1):
        if y[i] >= t >= y[i + 1] and y[i] != y[i + 1]:
            return float(s[i] + (y[i] - t) * (s[i + 1] - s[i]) / (y[i] - y[i + 1]))
    return float("nan")


def _channel(model, speed, mcs, snr, mode, estimator="ls"):
    from channel.nr import NR

    grant = {**GRANT, "estimator": estimator}
    return NR(snr_db=float(snr), model=model, speed_mps=speed, mcs_index=mcs, mode=mode, **grant)


def _abstract_tbler(model, speed, mcs, snr, n_images, packets, estimator="ls") -> float:
    ch = _channel(model, speed, mcs, snr, "abstract", estimator)
    return float(
        np.mean(
            [ch.transmit(packets, seed=s).stats["expected_first_tx_bler"] for s in range(n_images)]
        )
    )


def run(
    out: Path,
    quick: bool = False,
    log=print,
    estimator: str = "ls",
    channels: list | None = None,
    mcs: tuple[int, ...] | None = None,
) -> list[dict]:
    """Run the calibration and write ``out`` and its ``_10pct`` companion (curves already
    there, keyed by model, speed, MCS and estimator, are skipped)."""
    import torch

    torch.set_num_threads(1)
    if channels is None:
        channels = CHANNELS[:2] if quick else CHANNELS
    rows, summary = _read(out), _read(out.with_name(out.stem + "_10pct.csv"))
    for r in summary:
        r.setdefault("estimator", "ls")  # tables written before the estimator column
    done = {
        (r["model"], float(r["speed_mps"]), int(r["mcs_index"]), r.get("estimator", "ls"))
        for r in summary
    }
    t0 = time.process_time()
    for model, speed in channels:
        fading = model != "awgn"
        n_images, tbs = (64, 1) if fading else (1, 60)
        if quick:
            n_images, tbs = (4, 2) if fading else (1, 12)
        mcs_list = mcs or (MCS_FADING if fading else MCS_AWGN)[: 1 if quick else None]
        for m in mcs_list:
            if (model, speed if fading else 0.0, m, estimator) in done:
                log(f"{model} {speed} MCS {m} {estimator}: already in {out}, skipped")
                continue
            tb = _channel(model, speed, m, 0.0, "abstract").allocation().tb_size
            packets = [bytes(tb // 8)] * tbs  # one TB per packet (tb_size is a multiple of 8)
            grid = np.arange(-10.0, 30.0, 1.0)
            ab = np.array(
                [_abstract_tbler(model, speed, m, s, n_images, packets, estimator) for s in grid]
            )
            s10 = ten_percent_point(grid, ab, 1e-4)
            steps = (-4, -2, 0, 1, 2, 4) if fading else (-1.5, -1, -0.5, 0, 0.5, 1, 1.5)
            for snr in [round(s10 + d, 2) for d in steps]:
                link = _channel(model, speed, m, snr, "link", estimator)
                errors = sum(
                    round(link.transmit(packets, seed=s).stats["first_tx_bler"] * tbs)
                    for s in range(n_images)
                )
                n = n_images * tbs
                lo, hi = wilson(errors, n)
                row = dict(
                    model=model,
                    speed_mps=speed if fading else 0.0,
                    estimator=estimator,
                    mcs_index=m,
                    snr_db=snr,
                    n_tb=n,
                    link_errors=errors,
                    link_tbler=errors / n,
                    link_ci_low=round(lo, 4),
                    link_ci_high=round(hi, 4),
                    abstract_tbler=round(
                        _abstract_tbler(model, speed, m, snr, n_images, packets, estimator), 5
                    ),
                )
                rows.append(row)
                log(f"{row}  cpu {time.process_time() - t0:.0f}s")
            cur = [
                r
                for r in rows
                if (r["model"], r["speed_mps"], r["mcs_index"], r["estimator"])
                == (model, row["speed_mps"], m, estimator)
            ]
            snr = np.array([r["snr_db"] for r in cur])
            floor = 0.5 / cur[0]["n_tb"]
            summary.append(
                dict(
                    model=model,
                    speed_mps=row["speed_mps"],
                    mcs_index=m,
                    estimator=estimator,
                    link_snr10_db=round(
                        ten_percent_point(snr, [r["link_tbler"] for r in cur], floor), 3
                    ),
                    abstract_snr10_db=round(
                        ten_percent_point(snr, [r["abstract_tbler"] for r in cur], floor), 3
                    ),
                )
            )
            log(summary[-1])
            _write(out, rows)  # after every curve: an interrupted run keeps what it did
            _write(out.with_name(out.stem + "_10pct.csv"), summary)
    log(f"total CPU {time.process_time() - t0:.0f} s")
    return rows


def _read(path: Path) -> list[dict]:
    """Rows already in ``path`` (a resumed run skips their curves)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DATA / "nr_calibration.csv")
    p.add_argument("--quick", action="store_true", help="reduced set (smoke test)")
    p.add_argument("--estimator", default="ls", choices=["ls", "lmmse", "perfect"])
    p.add_argument("--channel", action="append", help="MODEL[:SPEED], repeatable")
    p.add_argument("--mcs", type=int, action="append", help="MCS index, repeatable")
    a = p.parse_args(argv)
    chans = None
    if a.channel:
        chans = [(c.split(":")[0], float(c.split(":")[1]) if ":" in c else None) for c in a.channel]
    run(
        a.out,
        quick=a.quick,
        estimator=a.estimator,
        channels=chans,
        mcs=tuple(a.mcs) if a.mcs else None,
    )


if __name__ == "__main__":
    main()
