"""Sweep throughput: the runner (each image encoded once, tokens reused for every row,
generation batched across images and rows, each distinct token sequence captioned once,
results written to disk) against a naive loop that re-encodes the image for every row,
generates one caption at a time and scores each row (score_all + bootstrap_ci), writing
nothing. Same model, same 4 rows (k-means K/N = 1/32 and 1/8, random 1/4, all tokens;
ideal link: no two rows share tokens, so deduplication saves nothing here), same run,
same torch threads; both use the same
``model.generate`` (whose prefill optimisations therefore speed up both). Each variant
runs ``--repeat`` times, interleaved (another process on the machine skews timings; the
load average before the runs is printed); prints how many captions the two variants
agree on per row, the best and median seconds of each, and the speed-up best vs best and
median vs median (target >= 5x). The random reducer draws per call (the runner: one
call for all images, the naive loop: one per image), so that row's subsets, and some of
its captions, differ between the two variants; its cost does not.

    python benchmarks/bench_sweep.py [--n 16] [--threads 1] [--model default]
                                     [--max-new-tokens 24] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16, help="images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="default")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each variant")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from collab_infer import datasets
    from collab_infer.models import load
    from experiments.config import expand_rows, load_config
    from experiments.rows import ResultsStore
    from experiments.runner import (
        ImageSet,
        _Components,
        derive_seed,
        model_fingerprint,
        run_sweep,
    )

    cfg = load_config(
        {
            "name": "bench",
            "model": {"name": args.model},
            "dataset": {"name": "shapes", "split": "test", "n": args.n},
            "generation": {"max_new_tokens": args.max_new_tokens, "batch_size": 64},
            "schemes": [
                {"label": "kmeans", "reducer": "kmeans", "budgets": {"ratio": [1 / 32, 1 / 8]}},
                {"label": "random", "reducer": "random", "budgets": {"ratio": [0.25]}},
                {"label": "full", "reducer": "full"},
            ],
            "channels": [{"name": "ideal"}],
            "metrics": {"n_boot": 100},
        }
    )
    model = load(args.model)
    images = ImageSet.from_samples(datasets.load("shapes", split="test", n=args.n, seed=0))
    rows = expand_rows(cfg, int(model.n_tokens))
    items = len(rows) * len(images)
    # warm-up (imports, first calls) of every stage both variants use, on the first two
    # images; nothing carries over (each run_sweep builds its caches afresh)
    warm = ImageSet(images.ids[:2], images.images[:2], images.references[:2])
    with tempfile.TemporaryDirectory() as d:
        run_sweep(cfg, d, model=model, images=warm, progress=False)

    def run_runner() -> tuple[float, dict[tuple[str, str], str]]:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            run_sweep(cfg, d, model=model, images=images, progress=False)
            dt = time.perf_counter() - t0
            caps = ResultsStore(d).captions()
        cols = zip(caps.row_hash, caps.image_id, caps.caption, strict=True)
        return dt, {(h, i): c for h, i, c in cols}

    comps = _Components()
    codec = comps.codec

    def run_naive() -> tuple[float, list[str]]:
        from collab_infer.metrics import bootstrap_ci, score_all

        t0 = time.perf_counter()
        naive_caps = []
        for row in rows:
            reducer = comps.reducer(row.reducer, row.reducer_params)
            ch = comps.make_channel(row.channel, row.channel_params)
            k = row.k if row.k is not None else int(model.n_tokens)
            for i, image in enumerate(images.images):
                tokens = model.encode([image])  # re-encoded for every row
                seed = derive_seed(row.seed, 0xC0FFEE)
                payload = reducer(tokens, k, seed=seed, grid=model.grid)[0]
                data = codec.encode(payload, row.number_format, row.index_coding)
                delivery = ch.transmit(codec.packetize(data), seed=derive_seed(row.seed, i))
                rec = codec.conceal(codec.reassemble(delivery.packets))
                t = comps.reconstruct(rec, subset_mode=row.subset_mode, fill=row.fill)
                naive_caps.append(model.generate([t], max_new_tokens=args.max_new_tokens)[0])
        for r in range(len(rows)):
            caps = naive_caps[r * len(images) : (r + 1) * len(images)]
            score_all(caps, images.references)
            bootstrap_ci(caps, images.references, n_boot=100)
        return time.perf_counter() - t0, naive_caps

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t_sweep, t_naive = [], []
    for _ in range(args.repeat):  # interleaved, so a change of load hits both alike
        dt, runner_caps = run_runner()
        t_sweep.append(dt)
        dt, naive_caps = run_naive()
        t_naive.append(dt)
    hashes = expand_rows(
        cfg,
        int(model.n_tokens),
        model_id=model_fingerprint(model),
        images_id=images.fingerprint(),
    )
    same = [
        sum(
            runner_caps[(row.row_hash, image_id)] == naive_caps[r * len(images) + i]
            for i, image_id in enumerate(images.ids)
        )
        for r, row in enumerate(hashes)
    ]

    print(
        f"model {args.model}: N={model.n_tokens} D={model.dim}; "
        f"{len(rows)} rows x {len(images)} images; {args.threads} torch thread(s); "
        f"1-min load average before the runs {load:.2f} on {os.cpu_count()} CPUs"
    )
    agree = ", ".join(
        f"{row.scheme} K={row.k or model.n_tokens}: {n}/{len(images)}"
        for row, n in zip(rows, same, strict=True)
    )
    print(f"same captions: {agree}")
    for name, ts in (("sweep runner", t_sweep), ("naive loop  ", t_naive)):
        print(
            f"{name} : best {min(ts):6.2f} s  median {statistics.median(ts):6.2f} s  "
            f"({1e3 * min(ts) / items:6.1f} ms per image-row at best; "
            f"runs {' '.join(f'{t:.2f}' for t in ts)})"
        )
    print(
        f"speed-up     : {min(t_naive) / min(t_sweep):5.1f}x best vs best, "
        f"{statistics.median(t_naive) / statistics.median(t_sweep):.1f}x median vs median "
        f"(target >= 5x; {args.repeat} interleaved runs each)"
    )


if __name__ == "__main__":
    main()
