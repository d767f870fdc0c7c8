"""The same sweep on the local runner and on the Ray executor (1 and 2 workers).

Measured in one run, one torch thread per process, the built-in default model:

- ``local``: :class:`LocalExecutor` (model loaded beforehand), the groups' wall time;
- ``ray W``: a local Ray instance with W CPUs; start-up (``ray.init``), actor start and
  model load (``open``), and the groups' wall time (tokens encoded on the actors,
  units run, rows written by the driver);
- per unit (one group of rows): the compute ``c`` (the rows' own ``elapsed_s``, timed
  inside ``run_group``, summed over the local run / units), Ray's overhead ``o`` =
  (ray-1 sweep time - its rows' ``elapsed_s``) / units (tokens encoded on the actors
  and put into the object store, scheduling, (de)serialising the rows; the local
  run encodes inside its first unit), and the driver's write ``d`` per unit
  (``ResultsStore.append``: the whole table rewritten atomically, so ``d`` grows with
  the table);
- projected for a cluster of W GPUs from those costs: the driver writes units one at a
  time, the actors run them in parallel, so ``T(W) = max(units x d, ceil(units / W) x
  (c + o))`` (start-up and model load, paid once per actor in parallel, not included).

Results are checked identical (all but date / seconds / git hash) before any number is
printed. Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_ray.py [--images 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

CFG = {
    "name": "bench_ray",
    "model": {"name": "default"},
    "dataset": {"name": "shapes", "split": "test", "n": 8, "seed": 0},
    "generation": {"batch_size": 8, "max_new_tokens": 12},
    "schemes": [
        {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [4, 8]}},
        {"label": "random", "reducer": "random", "budgets": {"k": [16]}},
        {"kind": "image", "codec": "jpeg", "qualities": [50]},
    ],
    "channels": [{"name": "erasure", "sweep": {"loss": [0.0, 0.2]}}],
    "metrics": {"n_boot": 50},
}
PROVENANCE = ["date", "elapsed_s", "git_hash"]


class _Timed:
    """Wraps ResultsStore.append, summing its seconds (the driver's write cost)."""

    def __init__(self) -> None:
        from experiments.rows import ResultsStore

        self.cls, self.orig, self.seconds, self.calls = ResultsStore, ResultsStore.append, 0.0, 0

        def append(store, rows):
            t = time.perf_counter()
            self.orig(store, rows)
            self.seconds += time.perf_counter() - t
            self.calls += 1

        ResultsStore.append = append

    def restore(self) -> None:
        self.cls.append = self.orig


def _run(cfg, out: Path, executor) -> dict:
    from experiments.runner import run_sweep

    timed = _Timed()
    t = time.perf_counter()
    try:
        s = run_sweep(cfg, out, progress=False, executor=executor)
    finally:
        timed.restore()
    from experiments.rows import ResultsStore

    compute = float(ResultsStore(out).table()["elapsed_s"].sum())
    return {
        "seconds": time.perf_counter() - t,
        "rows": s.rows_run,
        "write_s": timed.seconds,
        "compute_s": compute,
    }


def _table(out: Path) -> pd.DataFrame:
    from experiments.rows import ResultsStore

    df = ResultsStore(out).table().drop(columns=PROVENANCE)
    return df.sort_values("row_hash").reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)

    from experiments.config import load_config
    from experiments.executors.local import LocalExecutor
    from experiments.executors.ray_executor import RayExecutor
    from experiments.runner import ImageSet

    cfg_dict = dict(CFG, dataset=dict(CFG["dataset"], n=args.images))
    cfg = load_config(cfg_dict)
    tmp = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    try:
        from collab_infer import datasets
        from collab_infer.models import load

        d = cfg.dataset
        images = ImageSet.from_samples(datasets.load(d.name, split=d.split, n=d.n, seed=d.seed))
        model = load(cfg.model.name)
        local = LocalExecutor(model=model)
        # the groups' time alone: open (fingerprint) once before, then time run_groups
        res = {"local": _run(cfg, tmp / "local", local)}
        n_rows = res["local"]["rows"]
        units = math.ceil(n_rows / max(1, math.ceil(cfg.generation.batch_size / len(images))))
        ref = _table(tmp / "local")
        import ray

        for w in args.workers:
            t = time.perf_counter()
            ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False)
            init_s = time.perf_counter() - t
            with RayExecutor(workers=w) as ex:
                t = time.perf_counter()
                ex.open(cfg, images)  # actors start and load the model
                open_s = time.perf_counter() - t
                r = _run(cfg, tmp / f"ray{w}", ex)
            ray.shutdown()
            pd.testing.assert_frame_equal(_table(tmp / f"ray{w}"), ref, check_exact=True)
            res[f"ray{w}"] = dict(r, init_s=init_s, open_s=open_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    loc = res["local"]
    print(f"sweep: {n_rows} rows x {len(images)} images in {units} units (groups of rows)")
    print("results identical to the local runner: yes (every column but date/seconds/git)")
    print(
        f"{'run':>8} {'start s':>8} {'load s':>8} {'sweep s':>8} {'img-rows/s':>10} {'vs local':>8}"
    )
    ir = n_rows * len(images)
    print(
        f"{'local':>8} {'-':>8} {'-':>8} {loc['seconds']:8.2f} {ir / loc['seconds']:10.2f} {1:8.2f}"
    )
    for w in args.workers:
        r = res[f"ray{w}"]
        print(
            f"{'ray ' + str(w):>8} {r['init_s']:8.2f} {r['open_s']:8.2f} {r['seconds']:8.2f} "
            f"{ir / r['seconds']:10.2f} {loc['seconds'] / r['seconds']:8.2f}"
        )
    c = loc["compute_s"] / units
    d = loc["write_s"] / units
    if "ray1" in res:
        r1 = res["ray1"]
        o = (r1["seconds"] - r1["compute_s"]) / units
        print(
            f"per unit: compute c = {c:.3f} s (local; {r1['compute_s'] / units:.3f} s on the "
            f"ray-1 actor), Ray overhead o = {o:.3f} s, driver write d = {d:.3f} s"
        )
        print("projected sweep time on W GPUs, T(W) = max(units x d, ceil(units/W) x (c+o)):")
        for big in (1000,):
            for wg in (1, 2, 4, 8, 16, 32):
                tw = max(big * d, math.ceil(big / wg) * (c + max(o, 0.0)))
                t1 = big * (c + max(o, 0.0))
                print(f"  {big} units, W={wg:>2}: {tw:8.1f} s, speed-up {t1 / tw:5.2f}")


if __name__ == "__main__":
    main()
