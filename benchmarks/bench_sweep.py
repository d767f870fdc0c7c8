"""Sweep throughput: the runner (each image encoded once, tokens reused for every row,
generation batched across images and rows) against a naive loop that re-encodes the
image for every row and generates one caption at a time. Same model, same rows, same
run; prints seconds per (image x row) for both and their ratio (target >= 5x).

    python benchmarks/bench_sweep.py [--n 16] [--threads 1] [--model default]
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16, help="images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="default")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from collab_infer import datasets
    from collab_infer.models import load
    from experiments.config import expand_rows, load_config
    from experiments.runner import ImageSet, _Components, derive_seed, run_sweep

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
    # warm-up (imports, first calls) of every stage both variants use, on other images
    warm = ImageSet(images.ids[:2], images.images[:2], images.references[:2])
    with tempfile.TemporaryDirectory() as d:
        run_sweep(cfg, d, model=model, images=warm, progress=False)

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run_sweep(cfg, d, model=model, images=images, progress=False)
        t_sweep = time.perf_counter() - t0

    comps = _Components()
    codec = comps.codec
    t0 = time.perf_counter()
    naive_caps = []
    for row in rows:
        reducer = comps.reducer(row.reducer, row.reducer_params)
        ch = comps.make_channel(row.channel, row.channel_params)
        k = row.k if row.k is not None else int(model.n_tokens)
        for i, image in enumerate(images.images):
            tokens = model.encode([image])  # re-encoded for every row
            payload = reducer(tokens, k, seed=derive_seed(row.seed, 0xC0FFEE), grid=model.grid)[0]
            packets = codec.packetize(codec.encode(payload, row.number_format, row.index_coding))
            delivery = ch.transmit(packets, seed=derive_seed(row.seed, i))
            rec = codec.conceal(codec.reassemble(delivery.packets))
            t = comps.reconstruct(rec, subset_mode=row.subset_mode, fill=row.fill)
            naive_caps.append(model.generate([t], max_new_tokens=args.max_new_tokens)[0])
    from collab_infer.metrics import bootstrap_ci, score_all

    for r in range(len(rows)):
        caps = naive_caps[r * len(images) : (r + 1) * len(images)]
        score_all(caps, images.references)
        bootstrap_ci(caps, images.references, n_boot=100)
    t_naive = time.perf_counter() - t0

    print(
        f"model {args.model}: N={model.n_tokens} D={model.dim}; "
        f"{len(rows)} rows x {len(images)} images"
    )
    print(f"sweep runner : {t_sweep:8.2f} s  ({1e3 * t_sweep / items:7.1f} ms per image-row)")
    print(f"naive loop   : {t_naive:8.2f} s  ({1e3 * t_naive / items:7.1f} ms per image-row)")
    print(f"speed-up     : {t_naive / t_sweep:8.1f}x  (target >= 5x)")


if __name__ == "__main__":
    main()
