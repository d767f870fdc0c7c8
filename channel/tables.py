"""Build the BLER-vs-SNR tables behind ``CodedPhy(mode="abstract")``.

Every point is a bit-true Sionna simulation (:class:`channel.ldpc_link.LinkSimulator`,
AWGN, the same chain as ``mode="link"``), so abstract and link mode agree by
construction up to Monte-Carlo error. One CSV per code-block payload size is written to
``channel/data/bler_k{k_payload}.csv`` (one row per MCS and Es/N0 point).

SNR grid per MCS: starting at the Shannon limit of its spectral efficiency
(``10 log10(2**(m R) - 1)``, where finite blocks have BLER ~ 1), in steps of
``step_db`` until ``zero_points`` successive points show no block error. Each point
runs batches of 64 blocks until it has ``min_blocks`` blocks and ``target_errors``
block errors, or ``max_blocks`` blocks (:data:`DEFAULT_SIZES`).

Then :func:`refine_table` adds the mid-point of every neighbouring pair in the waterfall
(``--refine``), halving the grid where the curve is steep.

Regenerate (single core; measured build times are in ``channel/data/bler_meta.json``)::

    python -m channel.tables                                  # both sizes, all MCS
    python -m channel.tables --refine                         # waterfall mid-points
    python -m channel.tables --k-payload 1000 --top-up 384    # more blocks there
    python -m channel.tables --k-payload 232 --mcs 1 4
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from channel.ldpc_link import get_simulator
from channel.mcs import MCS_TABLE

__all__ = [
    "DATA_DIR",
    "DEFAULT_SIZES",
    "table_path",
    "simulate_point",
    "build_table",
    "refine_table",
    "top_up_table",
    "main",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
#: payload bits per code block tabled by default -> build settings
DEFAULT_SIZES: dict[int, dict] = {
    232: {
        "step_db": 0.5,
        "min_blocks": 128,
        "max_blocks": 768,
        "target_errors": 100,
        "zero_points": 2,
    },
    1000: {
        "step_db": 0.5,
        "min_blocks": 64,
        "max_blocks": 192,
        "target_errors": 50,
        "zero_points": 1,
    },
}
FIELDS = [
    "mcs_index",
    "modulation",
    "code_rate",
    "k_payload",
    "k",
    "n",
    "esn0_db",
    "blocks",
    "block_errors",
    "bler",
]


def table_path(k_payload: int) -> Path:
    return DATA_DIR / f"bler_k{k_payload}.csv"


def simulate_point(
    mcs_index: int,
    k_payload: int,
    esn0_db: float,
    *,
    seed: int,
    target_errors: int = 100,
    min_blocks: int = 128,
    max_blocks: int = 384,
    batch: int = 64,
    num_iter: int = 20,
) -> tuple[int, int]:
    """(blocks, block_errors) of the bit-true AWGN link at one Es/N0."""
    sim = get_simulator(MCS_TABLE[mcs_index], k_payload, num_iter)
    gen = torch.Generator().manual_seed(seed)
    blocks = errors = 0
    while blocks < max_blocks and (blocks < min_blocks or errors < target_errors):
        bits = torch.randint(0, 2, (batch, k_payload), generator=gen).float()
        _, ok, _ = sim.run(bits, esn0_db, "awgn", gen)
        blocks += batch
        errors += int((~ok).sum())
    return blocks, errors


def build_table(
    k_payload: int,
    mcs_indices: list[int],
    *,
    step_db: float,
    max_blocks: int,
    min_blocks: int = 128,
    target_errors: int = 100,
    zero_points: int = 2,
    seed: int = 0,
    out: Path | None = None,
    log=print,
) -> Path:
    """Simulate the listed MCS at one block size and (re)write their rows in the CSV."""
    out = out or table_path(k_payload)
    rows: list[dict] = []
    if out.exists():  # keep rows of MCS not rebuilt now
        with out.open() as f:
            rows = [r for r in csv.DictReader(f) if int(r["mcs_index"]) not in mcs_indices]
    for mi in mcs_indices:
        mcs = MCS_TABLE[mi]
        start = math.floor(10 * math.log10(2**mcs.spectral_efficiency - 1) / step_db) * step_db
        snr, zero_run, i = start, 0, 0
        t0 = time.perf_counter()
        while zero_run < zero_points and i < 40:
            blocks, errors = _measure(
                rows, mi, k_payload, snr, (seed, i), target_errors, min_blocks, max_blocks
            )
            log(f"k={k_payload} mcs={mi} {mcs.label} Es/N0={snr:.2f} dB BLER={errors}/{blocks}")
            zero_run = zero_run + 1 if errors == 0 else 0
            snr += step_db
            i += 1
        log(f"k={k_payload} mcs={mi} done in {time.perf_counter() - t0:.0f} s")
        _write(out, rows)  # after every MCS, so an interrupted build keeps its progress
    return out


def _measure(
    rows: list[dict],
    mi: int,
    k_payload: int,
    snr: float,
    point: tuple[int, int],
    target_errors: int,
    min_blocks: int,
    max_blocks: int,
) -> tuple[int, int]:
    """Simulate one table point and append its row; ``point = (seed, point id)`` seeds
    it (with the MCS and block size). Returns ``(blocks, block errors)``."""
    seed, pid = point
    point_seed = int(np.random.SeedSequence([seed, mi, k_payload, pid]).generate_state(1)[0])
    blocks, errors = simulate_point(
        mi,
        k_payload,
        snr,
        seed=point_seed,
        target_errors=target_errors,
        min_blocks=min_blocks,
        max_blocks=max_blocks,
    )
    rows.append(_row(mi, k_payload, snr, blocks, errors))
    return blocks, errors


def _row(mi: int, k_payload: int, snr: float, blocks: int, errors: int) -> dict:
    mcs = MCS_TABLE[mi]
    geo = get_simulator(mcs, k_payload).geometry
    return {
        "mcs_index": mi,
        "modulation": mcs.modulation,
        "code_rate": f"{mcs.code_rate:.6f}",
        "k_payload": k_payload,
        "k": geo.k,
        "n": geo.n,
        "esn0_db": f"{snr:.3f}",
        "blocks": blocks,
        "block_errors": errors,
        "bler": f"{errors / blocks:.6g}",
    }


def refine_table(
    k_payload: int,
    mcs_indices: list[int],
    *,
    min_step_db: float = 0.2,
    max_blocks: int,
    min_blocks: int = 128,
    target_errors: int = 100,
    seed: int = 0,
    log=print,
    **_: object,
) -> Path:
    """Add the mid-point of every pair of neighbouring points in the waterfall (BLER of
    the lower point > 0.003 and of the upper < 0.997) that are more than
    ``min_step_db`` apart: one halving of the grid where the curve is steep."""
    out = table_path(k_payload)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    for mi in mcs_indices:
        pts = sorted(
            (float(r["esn0_db"]), float(r["bler"])) for r in rows if int(r["mcs_index"]) == mi
        )
        t0 = time.perf_counter()
        for j, ((s0, b0), (s1, b1)) in enumerate(zip(pts, pts[1:], strict=False)):
            if s1 - s0 <= min_step_db or not (b0 > 0.003 and b1 < 0.997):
                continue
            snr = 0.5 * (s0 + s1)
            blocks, errors = _measure(
                rows, mi, k_payload, snr, (seed, 1000 + j), target_errors, min_blocks, max_blocks
            )
            log(f"k={k_payload} mcs={mi} refine Es/N0={snr:.3f} dB BLER={errors}/{blocks}")
        log(f"k={k_payload} mcs={mi} refined in {time.perf_counter() - t0:.0f} s")
        _write(out, rows)
    return out


def top_up_table(
    k_payload: int,
    mcs_indices: list[int],
    *,
    extra_blocks: int,
    seed: int = 0,
    log=print,
) -> Path:
    """Add ``extra_blocks`` more blocks (fresh seeds) to every waterfall point
    (0.003 < BLER < 0.997) and merge the counts: less Monte-Carlo noise where the
    curve is steep."""
    out = table_path(k_payload)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    for mi in mcs_indices:
        t0 = time.perf_counter()
        for j, r in enumerate(rows):
            if int(r["mcs_index"]) != mi or not 0.003 < float(r["bler"]) < 0.997:
                continue
            snr = float(r["esn0_db"])
            point_seed = int(
                np.random.SeedSequence(
                    [seed, mi, k_payload, 2000 + j, int(r["blocks"])]
                ).generate_state(1)[0]
            )
            blocks, errors = simulate_point(
                mi,
                k_payload,
                snr,
                seed=point_seed,
                target_errors=10**9,
                min_blocks=extra_blocks,
                max_blocks=extra_blocks,
            )
            rows[j] = _row(
                mi, k_payload, snr, int(r["blocks"]) + blocks, int(r["block_errors"]) + errors
            )
            log(f"k={k_payload} mcs={mi} top-up Es/N0={snr:.3f} dB -> {rows[j]['bler']}")
        log(f"k={k_payload} mcs={mi} topped up in {time.perf_counter() - t0:.0f} s")
        _write(out, rows)
    return out


def _write(out: Path, rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: (int(r["mcs_index"]), float(r["esn0_db"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m channel.tables", description=__doc__)
    parser.add_argument("--k-payload", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--mcs", type=int, nargs="*", default=list(range(len(MCS_TABLE))))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--refine",
        action="store_true",
        help="only add waterfall mid-points to an existing table",
    )
    parser.add_argument(
        "--top-up",
        type=int,
        default=0,
        metavar="BLOCKS",
        help="only add BLOCKS more blocks to every waterfall point of an existing table",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    meta_path = DATA_DIR / "bler_meta.json"
    for kp in args.k_payload:
        settings = DEFAULT_SIZES.get(kp, DEFAULT_SIZES[1000])
        t0 = time.perf_counter()
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if args.top_up:
            top_up_table(kp, args.mcs, extra_blocks=args.top_up, seed=args.seed)
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            entry = meta.setdefault(str(kp), {})
            entry["top_up_blocks"] = args.top_up
            entry["top_up_s"] = round(time.perf_counter() - t0, 1)
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
            continue
        if args.refine:
            refine_table(kp, args.mcs, seed=args.seed, **settings)
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            meta.setdefault(str(kp), {})["refine_s"] = round(time.perf_counter() - t0, 1)
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
            continue
        build_table(kp, args.mcs, seed=args.seed, **settings)
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        meta[str(kp)] = {
            "build_s": round(time.perf_counter() - t0, 1),
            "mcs": args.mcs,
            **settings,
            "num_iter": 20,
            "decoder": "sionna LDPC5GDecoder boxplus-phi, hard_out",
            "demapper": "sionna Demapper app",
            "channel": "awgn, Es/N0",
            "seed": args.seed,
            "threads": args.threads,
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
