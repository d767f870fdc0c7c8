"""Build the BLER-vs-SNR tables behind ``CodedPhy(mode="abstract")``.

Every point is a bit-true Sionna simulation (:class:`channel.ldpc_link.LinkSimulator`,
AWGN, the same chain as ``mode="link"``), so abstract and link mode agree by
construction up to Monte-Carlo error. One CSV per code-block payload size is written to
``channel/data/bler_k{k_payload}.csv`` (one row per MCS and Es/N0 point, with its
``blocks``, ``block_errors`` and the ``source`` stage that produced it); every run is
logged in ``channel/data/bler_meta.json`` (``runs``: stage, MCS, settings, seed, CPU
seconds).

Stages (``source`` column):

- ``grid`` (:func:`build_table`): per MCS, from the Shannon limit of its spectral
  efficiency (``10 log10(2**(m R) - 1)``, where finite blocks have BLER ~ 1) in steps of
  ``step_db`` until ``zero_points`` successive points show no block error. Each point
  runs batches of 64 blocks until it has ``min_blocks`` blocks and ``target_errors``
  block errors, or ``max_blocks`` blocks; a point whose first 64 blocks all fail stops
  there (BLER ~ 1).
- ``refine`` (:func:`channel.table_stages.refine_table`): the mid-point of every
  neighbouring pair in the waterfall, halving the grid where the curve is steep.
- ``top-up`` (:func:`channel.table_stages.top_up_table`): more blocks at every
  waterfall point.
- ``tail`` (:func:`channel.table_stages.deepen_tail`): every point with observed BLER
  below ``below`` (zero errors included) gets more blocks until it has
  ``target_errors`` errors or ``max_blocks`` blocks, and while the last point still
  shows errors, one more point ``step_db`` above it is measured the same way: the tail
  that :mod:`channel.bler_table` fits and extrapolates.
- ``legacy``: rows written before the ``source`` column existed (grid, refine and
  top-up of the first build; their settings are in the metadata).

Regenerate (single core; measured CPU times are in ``channel/data/bler_meta.json``)::

    python -m channel.tables                                  # both sizes, all MCS
    python -m channel.tables --refine                         # waterfall mid-points
    python -m channel.tables --k-payload 1000 --top-up 384    # more blocks there
    python -m channel.tables --k-payload 232 --mcs 9 10 --tail 4096
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

from channel.ldpc_link import block_geometry, get_simulator
from channel.mcs import MCS_TABLE

__all__ = [
    "DATA_DIR",
    "DEFAULT_SIZES",
    "table_path",
    "simulate_point",
    "build_table",
    "main",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
#: a point stops once this many blocks have all failed (BLER ~ 1)
ALL_FAILED_STOP = 64
#: payload bits per code block tabled by default -> grid settings
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
    "source",
]
#: ``source`` of rows written before the column existed (grid, refine or top-up)
LEGACY_SOURCE = "legacy"


def table_path(k_payload: int, data_dir: Path = DATA_DIR) -> Path:
    return Path(data_dir) / f"bler_k{k_payload}.csv"


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
        if errors == blocks and blocks >= ALL_FAILED_STOP:
            break  # BLER ~ 1 (the first batch all failed): more blocks tell nothing
    return blocks, errors


def _point_seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def _read(k_payload: int, data_dir: Path = DATA_DIR) -> list[dict]:
    path = table_path(k_payload, data_dir)
    if not path.exists():
        return []
    with path.open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["source"] = r.get("source") or LEGACY_SOURCE
    return rows


def _row(
    mi: int, k_payload: int, snr: float, blocks: int, errors: int, source: str
) -> dict[str, object]:
    mcs = MCS_TABLE[mi]
    geo = block_geometry(mcs, k_payload)
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
        "source": source,
    }


def _write(k_payload: int, rows: list[dict], mcs_indices: list[int], data_dir: Path) -> None:
    """Write the rows of ``mcs_indices`` into the table, keeping the other MCS' rows as
    they are in the file now (another build may be updating those)."""
    out = table_path(k_payload, data_dir)
    keep = [r for r in _read(k_payload, data_dir) if int(r["mcs_index"]) not in mcs_indices]
    rows = keep + [r for r in rows if int(r["mcs_index"]) in mcs_indices]
    rows = sorted(rows, key=lambda r: (int(r["mcs_index"]), float(r["esn0_db"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)


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
    data_dir: Path = DATA_DIR,
    log=print,
) -> Path:
    """Simulate the listed MCS on a ``step_db`` grid and (re)write their rows."""
    rows = [r for r in _read(k_payload, data_dir) if int(r["mcs_index"]) not in mcs_indices]
    for mi in mcs_indices:
        mcs = MCS_TABLE[mi]
        start = math.floor(10 * math.log10(2**mcs.spectral_efficiency - 1) / step_db) * step_db
        snr, zero_run, i = start, 0, 0
        t0 = time.process_time()
        while zero_run < zero_points and i < 40:
            blocks, errors = simulate_point(
                mi,
                k_payload,
                snr,
                seed=_point_seed(seed, mi, k_payload, i),
                target_errors=target_errors,
                min_blocks=min_blocks,
                max_blocks=max_blocks,
            )
            rows.append(_row(mi, k_payload, snr, blocks, errors, "grid"))
            log(f"k={k_payload} mcs={mi} {mcs.label} Es/N0={snr:.2f} dB BLER={errors}/{blocks}")
            zero_run = zero_run + 1 if errors == 0 else 0
            snr += step_db
            i += 1
        log(f"k={k_payload} mcs={mi} done in {time.process_time() - t0:.0f} CPU s")
        _write(k_payload, rows, [mi], data_dir)  # after every MCS: progress survives
    return table_path(k_payload, data_dir)


def _log_run(k_payload: int, run: dict, data_dir: Path = DATA_DIR) -> None:
    """Append ``run`` to ``bler_meta.json[str(k_payload)]["runs"]`` (re-read first:
    builds of other sizes may run at the same time)."""
    path = Path(data_dir) / "bler_meta.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    entry = meta.setdefault(str(k_payload), {})
    entry.setdefault("runs", []).append(run)
    entry.update(
        num_iter=20,
        decoder="sionna LDPC5GDecoder boxplus-phi, hard_out",
        demapper="sionna Demapper app",
        channel="awgn, Es/N0",
        low_rates="rate < 1/5: rate-1/5 codeword repeated cyclically, LLRs added (MRC)",
    )
    path.write_text(json.dumps(meta, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m channel.tables", description=__doc__)
    parser.add_argument("--k-payload", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--mcs", type=int, nargs="*", default=list(range(len(MCS_TABLE))))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DATA_DIR,
        help="read and write the tables there (default: the shipped channel/data)",
    )
    stage = parser.add_mutually_exclusive_group()
    stage.add_argument(
        "--refine", action="store_true", help="only add waterfall mid-points to a table"
    )
    stage.add_argument(
        "--top-up",
        type=int,
        default=0,
        metavar="BLOCKS",
        help="only add BLOCKS more blocks to every waterfall point of a table",
    )
    stage.add_argument(
        "--tail",
        type=int,
        default=0,
        metavar="BLOCKS",
        help="only deepen the tail: points with BLER < 0.05 up to BLOCKS blocks",
    )
    parser.add_argument("--tail-errors", type=int, default=20, help="errors to stop a tail point")
    for key, kind in (
        ("step_db", float),
        ("min_blocks", int),
        ("max_blocks", int),
        ("target_errors", int),
        ("zero_points", int),
    ):
        parser.add_argument(
            f"--{key.replace('_', '-')}", type=kind, help=f"override the size's grid {key}"
        )
    args = parser.parse_args(argv)
    for name in ("top_up", "tail"):
        if getattr(args, name) < 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 0")
    bad = [m for m in args.mcs if not 0 <= m < len(MCS_TABLE)]
    if bad:
        raise SystemExit(f"--mcs: unknown indices {bad}; valid 0..{len(MCS_TABLE) - 1}")
    from channel.table_stages import deepen_tail, refine_table, top_up_table

    torch.set_num_threads(args.threads)
    dd = args.data_dir
    for kp in args.k_payload:
        settings = dict(DEFAULT_SIZES.get(kp, DEFAULT_SIZES[1000]))
        for key in settings:
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        t0 = time.process_time()
        run: dict = {"mcs": args.mcs, "seed": args.seed, "threads": args.threads}
        if args.top_up:
            top_up_table(kp, args.mcs, extra_blocks=args.top_up, seed=args.seed, data_dir=dd)
            run |= {"stage": "top-up", "extra_blocks": args.top_up}
        elif args.tail:
            deepen_tail(
                kp,
                args.mcs,
                max_blocks=args.tail,
                target_errors=args.tail_errors,
                seed=args.seed,
                data_dir=dd,
            )
            run |= {"stage": "tail", "max_blocks": args.tail, "target_errors": args.tail_errors}
            run |= {"below": 0.05, "step_db": 0.25, "max_new_points": 1}
        elif args.refine:
            refine_table(kp, args.mcs, seed=args.seed, data_dir=dd, **settings)
            run |= {"stage": "refine", **settings}
        else:
            build_table(kp, args.mcs, seed=args.seed, data_dir=dd, **settings)
            run |= {"stage": "grid", **settings, "all_failed_stop": ALL_FAILED_STOP}
        run["cpu_s"] = round(time.process_time() - t0, 1)
        _log_run(kp, run, dd)


if __name__ == "__main__":
    main()
