"""Rendering speed of the ``shapes`` dataset: one vectorised batch vs one image at a time.

Run: ``python benchmarks/bench_shapes.py`` (1 torch/numpy thread). Prints images/s of both
paths and their ratio (baseline = per-image rendering, measured in the same run).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from collab_infer.datasets.shapes import render  # noqa: E402


def _rate(fn, n: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    n = 1024
    render("train", np.arange(8))  # warm the noise field
    batched = _rate(lambda: render("train", np.arange(n)), n)
    single = _rate(lambda: [render("train", [i]) for i in range(128)], 128)
    print(f"batched (B={n}): {batched:8.0f} images/s")
    print(f"one at a time : {single:8.0f} images/s (baseline)")
    print(f"ratio         : {batched / single:8.1f}x")


if __name__ == "__main__":
    main()
