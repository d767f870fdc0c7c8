"""Table-builder stages that improve an existing BLER table (``refine``, ``top-up``,
``tail``); see :mod:`channel.tables` for the stages, the CSV columns and the CLI.

Each stage reads the table, adds or merges bit-true points for its MCS (fresh seeds
derived from the point) and writes them back after every MCS, keeping the rows of the
other MCS as they are in the file then.
"""

from __future__ import annotations

import time
from pathlib import Path

from channel import tables

__all__ = ["refine_table", "top_up_table", "deepen_tail"]


def refine_table(
    k_payload: int,
    mcs_indices: list[int],
    *,
    min_step_db: float = 0.2,
    max_blocks: int,
    min_blocks: int = 128,
    target_errors: int = 100,
    seed: int = 0,
    data_dir: Path = tables.DATA_DIR,
    log=print,
    **_: object,
) -> Path:
    """Add the mid-point of every pair of neighbouring points in the waterfall (BLER of
    the lower point > 0.003 and of the upper < 0.997) that are more than
    ``min_step_db`` apart: one halving of the grid where the curve is steep."""
    rows = tables._read(k_payload, data_dir)
    for mi in mcs_indices:
        pts = sorted(
            (float(r["esn0_db"]), float(r["bler"])) for r in rows if int(r["mcs_index"]) == mi
        )
        t0 = time.process_time()
        for j, ((s0, b0), (s1, b1)) in enumerate(zip(pts, pts[1:], strict=False)):
            if s1 - s0 <= min_step_db or not (b0 > 0.003 and b1 < 0.997):
                continue
            snr = 0.5 * (s0 + s1)
            blocks, errors = tables.simulate_point(
                mi,
                k_payload,
                snr,
                seed=tables._point_seed(seed, mi, k_payload, 1000 + j),
                target_errors=target_errors,
                min_blocks=min_blocks,
                max_blocks=max_blocks,
            )
            rows.append(tables._row(mi, k_payload, snr, blocks, errors, "refine"))
            log(f"k={k_payload} mcs={mi} refine Es/N0={snr:.3f} dB BLER={errors}/{blocks}")
        log(f"k={k_payload} mcs={mi} refined in {time.process_time() - t0:.0f} CPU s")
        tables._write(k_payload, rows, [mi], data_dir)
    return tables.table_path(k_payload, data_dir)


def _add_blocks(
    rows: list[dict], j: int, k_payload: int, blocks: int, errors: int, source: str
) -> dict:
    """Merge ``blocks``/``errors`` more into row ``j`` (source becomes ``source`` when
    the new blocks outnumber the old ones)."""
    r = rows[j]
    old = int(r["blocks"])
    src = source if blocks > old else r["source"]
    rows[j] = tables._row(
        int(r["mcs_index"]),
        k_payload,
        float(r["esn0_db"]),
        old + blocks,
        int(r["block_errors"]) + errors,
        src,
    )
    return rows[j]


def top_up_table(
    k_payload: int,
    mcs_indices: list[int],
    *,
    extra_blocks: int,
    seed: int = 0,
    data_dir: Path = tables.DATA_DIR,
    log=print,
) -> Path:
    """Add ``extra_blocks`` more blocks (fresh seeds) to every waterfall point
    (0.003 < BLER < 0.997) and merge the counts: less Monte-Carlo noise where the
    curve is steep."""
    rows = tables._read(k_payload, data_dir)
    for mi in mcs_indices:
        t0 = time.process_time()
        for j, r in enumerate(rows):
            if int(r["mcs_index"]) != mi or not 0.003 < float(r["bler"]) < 0.997:
                continue
            blocks, errors = tables.simulate_point(
                mi,
                k_payload,
                float(r["esn0_db"]),
                seed=tables._point_seed(seed, mi, k_payload, 2000 + j, int(r["blocks"])),
                target_errors=10**9,
                min_blocks=extra_blocks,
                max_blocks=extra_blocks,
            )
            new = _add_blocks(rows, j, k_payload, blocks, errors, "top-up")
            log(f"k={k_payload} mcs={mi} top-up Es/N0={new['esn0_db']} dB -> {new['bler']}")
        log(f"k={k_payload} mcs={mi} topped up in {time.process_time() - t0:.0f} CPU s")
        tables._write(k_payload, rows, [mi], data_dir)
    return tables.table_path(k_payload, data_dir)


def deepen_tail(
    k_payload: int,
    mcs_indices: list[int],
    *,
    max_blocks: int,
    target_errors: int = 20,
    below: float = 0.05,
    step_db: float = 0.25,
    max_new_points: int = 1,
    seed: int = 0,
    data_dir: Path = tables.DATA_DIR,
    log=print,
) -> Path:
    """Measure the lower waterfall deeper: every point with observed BLER < ``below``
    (zero errors included) gets fresh blocks until it holds ``target_errors`` errors or
    ``max_blocks`` blocks in all; then, while the highest point still shows an error
    (at most ``max_new_points`` times), a new point ``step_db`` above it is measured the
    same way."""
    rows = tables._read(k_payload, data_dir)

    def deepen(j: int) -> dict:
        r = rows[j]
        have, errs = int(r["blocks"]), int(r["block_errors"])
        if have >= max_blocks or errs >= target_errors:
            return r
        blocks, errors = tables.simulate_point(
            int(r["mcs_index"]),
            k_payload,
            float(r["esn0_db"]),
            seed=tables._point_seed(seed, int(r["mcs_index"]), k_payload, 3000 + j, have),
            target_errors=target_errors - errs,
            min_blocks=64,
            max_blocks=max_blocks - have,
        )
        new = _add_blocks(rows, j, k_payload, blocks, errors, "tail")
        log(
            f"k={k_payload} mcs={new['mcs_index']} tail Es/N0={new['esn0_db']} dB "
            f"BLER={new['block_errors']}/{new['blocks']}"
        )
        return new

    for mi in mcs_indices:
        t0 = time.process_time()
        mine = [j for j, r in enumerate(rows) if int(r["mcs_index"]) == mi]
        if not mine:
            log(f"k={k_payload} mcs={mi}: no grid points yet, skipped")
            continue
        for j in mine:
            if float(rows[j]["bler"]) < below:
                deepen(j)
        for _ in range(max_new_points):
            last = max(
                (j for j, r in enumerate(rows) if int(r["mcs_index"]) == mi),
                key=lambda j: float(rows[j]["esn0_db"]),
            )
            if int(rows[last]["block_errors"]) == 0:
                break
            snr = float(rows[last]["esn0_db"]) + step_db
            placeholder = tables._row(mi, k_payload, snr, 1, 0, "tail")
            rows.append({**placeholder, "blocks": 0, "block_errors": 0})
            deepen(len(rows) - 1)
        log(f"k={k_payload} mcs={mi} tail in {time.process_time() - t0:.0f} CPU s")
        tables._write(k_payload, rows, [mi], data_dir)
    return tables.table_path(k_payload, data_dir)
