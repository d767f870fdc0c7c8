"""Serving throughput and latency: the network server (UDP on loopback, HMAC key, the
default limits) against the in-process pipeline, at 1 and 8 concurrent edges, and the
batching gain (8 edges with ``max_batch`` 8 vs 1).

Every variant captions the same k-means K = 8 payloads of the default model (encoded
once beforehand: the edge's vision encoder is the same work in every variant and is
left out), same generation settings, same torch threads, one run each, in this order:

- in-process, one at a time: ``Server.receive`` + ``Server.caption`` per image
  (latency = that call);
- in-process, batches of 8: ``Server.__call__`` on 8 images at a time;
- network, 1 edge: one ``EdgeClient`` sending one payload after another
  (latency = first datagram sent -> reply received);
- network, 8 edges, ``max_batch`` 1 (no batching) and ``max_batch`` 8 (dynamic batching,
  ``max_wait_ms`` 10): each edge sends its payloads one after another.

Prints images/s and p50 / p99 latency per variant, the network's cost at 1 edge (vs the
in-process one-at-a-time pipeline) and the batching gain at 8 edges (images/s with
batching / without); the load average before the runs is printed (another process on
the machine skews timings).

    python benchmarks/bench_serve.py [--images 8] [--max-new-tokens 24] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import numpy as np

KEY = b"bench_serve shared key, 32 bytes"


def _summary(name: str, n: int, wall_s: float, latencies: list[float]) -> dict:
    lat = np.asarray(latencies)
    return {
        "variant": name,
        "images": n,
        "wall_s": wall_s,
        "images_per_s": n / wall_s,
        "p50_ms": 1000 * float(np.percentile(lat, 50)),
        "p99_ms": 1000 * float(np.percentile(lat, 99)),
    }


def _in_process(server, packet_lists, batch: int) -> dict:
    latencies = []
    t0 = time.perf_counter()
    for lo in range(0, len(packet_lists), batch):
        t = time.perf_counter()
        server(packet_lists[lo : lo + batch])
        latencies += [time.perf_counter() - t] * len(packet_lists[lo : lo + batch])
    wall = time.perf_counter() - t0
    name = "in-process, one at a time" if batch == 1 else f"in-process, batches of {batch}"
    return _summary(name, len(packet_lists), wall, latencies)


async def _network(server, encoded, edges: int, per_edge: int, max_batch: int) -> dict:
    from collab_infer.net import EdgeClient, Limits, NetServer

    limits = Limits(max_batch=max_batch, max_wait_ms=10)
    async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
        clients = [EdgeClient(net.address, key=KEY, reply_timeout_s=120) for _ in range(edges)]
        for c in clients:
            await c.start()

        async def one_edge(j, c):
            return [await c.send(encoded[(j + i) % len(encoded)]) for i in range(per_edge)]

        t0 = time.perf_counter()
        parts = await asyncio.gather(*[one_edge(j, c) for j, c in enumerate(clients)])
        wall = time.perf_counter() - t0
        for c in clients:
            await c.close()
        snap = net.snapshot()
    results = [r for part in parts for r in part]
    bad = [r.status for r in results if r.status != "ok"]
    if bad:
        raise RuntimeError(f"{len(bad)} requests not answered ok: {bad[:5]}")
    name = f"network, {edges} edge{'s' if edges > 1 else ''}, max_batch {max_batch}"
    out = _summary(name, len(results), wall, [r.rtt_s for r in results])
    out["mean_batch"] = snap["mean_batch"]
    out["server_queue_p50_ms"] = 1000 * snap["queue_s"]["p50"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8, help="payloads per edge (and distinct)")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import codec
    from collab_infer import datasets
    from collab_infer.edge import Edge
    from collab_infer.models import load
    from collab_infer.server import Server

    vlm = load("default")
    samples = datasets.load("shapes", split="test", n=args.images)
    edge = Edge(vlm, "kmeans", 8)
    payloads = edge.reduce(edge.encode([s.image for s in samples]), seed=0)
    encoded = [codec.encode(p, "fp16") for p in payloads]
    packet_lists = [codec.packetize(d, 1400) for d in encoded]
    server = Server(vlm, max_new_tokens=args.max_new_tokens)
    server(packet_lists[:2])  # warm-up
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; threads {args.threads}; "
        f"{args.images} payloads of {len(encoded[0])} bytes; max_new_tokens {args.max_new_tokens}"
    )

    rows = [
        _in_process(server, packet_lists * 2, 1),
        _in_process(server, packet_lists * 2, 8),
        asyncio.run(_network(server, encoded, 1, 2 * args.images, 8)),
        asyncio.run(_network(server, encoded, 8, args.images, 1)),
        asyncio.run(_network(server, encoded, 8, args.images, 8)),
    ]
    print(
        f"{'variant':42s} {'images':>6s} {'img/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s} {'batch':>6s}"
    )
    for r in rows:
        batch = f"{r['mean_batch']:.2f}" if "mean_batch" in r else "-"
        print(
            f"{r['variant']:42s} {r['images']:6d} {r['images_per_s']:7.2f} "
            f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {batch:>6s}"
        )
    one, _, net1, net8_nb, net8_b = rows
    ratio_1 = net1["images_per_s"] / one["images_per_s"]
    gain = net8_b["images_per_s"] / net8_nb["images_per_s"]
    print(
        f"network at 1 edge vs in-process one at a time: {ratio_1:.2f}x images/s, "
        f"p50 +{net1['p50_ms'] - one['p50_ms']:.1f} ms"
    )
    print(
        f"batching gain at 8 edges (max_batch 8 vs 1): {gain:.2f}x images/s; "
        f"p99 {net8_b['p99_ms']:.0f} vs {net8_nb['p99_ms']:.0f} ms"
    )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
