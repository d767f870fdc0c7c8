"""NR uplink speed: link mode (bit-true Sionna PUSCH) vs abstract mode on the same
transmissions, and the per-image cost of abstract mode on a PaliGemma-shaped payload.

Same transmissions: both modes send the same packets through the same channel
realisations (seeds), ``harq_max_tx=1`` so both send exactly one transmission per TB.
Throughput = payload bits per second of wall time; the ratio is abstract / link.

    python benchmarks/bench_nr.py [--model tdl-c] [--n-prb 4] [--images 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def _packets(n_bytes: int, mtu: int = 1400, seed: int = 0) -> list[bytes]:
    data = np.random.default_rng(seed).bytes(n_bytes)
    return [data[i : i + mtu] for i in range(0, n_bytes, mtu)]


def _run(ch, packets, seeds) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    tbs = errors = 0
    for s in seeds:
        d = ch.transmit(packets, seed=s)
        tbs += d.stats["tb_count"]
        errors += d.stats["block_errors"]
    return time.perf_counter() - t0, tbs, errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tdl-c")
    p.add_argument("--speed-mps", type=float, default=3.0)
    p.add_argument("--snr-db", type=float, default=8.0)
    p.add_argument("--n-prb", type=int, default=4)
    p.add_argument("--mcs", type=int, default=10)
    p.add_argument("--images", type=int, default=3, help="link-mode images (seeds)")
    p.add_argument("--kib", type=int, default=4, help="payload per image, KiB")
    p.add_argument("--no-per-image", action="store_true", help="skip the per-image part")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    from channel.nr import NR

    kw = dict(
        snr_db=a.snr_db,
        model=a.model,
        speed_mps=a.speed_mps,
        n_prb=a.n_prb,
        mcs_index=a.mcs,
        harq_max_tx=1,
        estimator="ls",
    )
    packets = _packets(a.kib * 1024, mtu=256)
    bits = 8 * sum(len(x) for x in packets)
    link, abstract = NR(mode="link", **kw), NR(mode="abstract", **kw)
    seeds = list(range(a.images))
    link.transmit(packets[:1], seed=99)  # build the Sionna blocks outside the timing
    abstract.transmit(packets[:1], seed=99)
    t_link, tbs, err_link = _run(link, packets, seeds)
    reps = [_run(abstract, packets, seeds) for _ in range(5)]
    t_abs = statistics.median(r[0] for r in reps)
    err_abs = reps[0][2]
    print(
        f"NR {a.model} {a.speed_mps} m/s, Es/N0 {a.snr_db} dB, {a.n_prb} PRB, MCS {a.mcs}, "
        f"LS estimation, torch threads={a.threads}"
    )
    print(f"same transmissions: {len(seeds)} images x {bits} bits = {tbs} TBs")
    print(
        f"  link     {t_link:8.3f} s  {len(seeds) * bits / t_link / 1e3:10.1f} kbit/s  "
        f"TB errors {err_link}"
    )
    print(
        f"  abstract {t_abs:8.3f} s  {len(seeds) * bits / t_abs / 1e3:10.1f} kbit/s  "
        f"TB errors {err_abs} (one draw)"
    )
    print(f"  ratio abstract/link: {t_link / t_abs:.0f}x")

    if a.no_per_image:
        return
    # per-image abstract cost, default grant (51 PRB), K=8 VQ payload (~33 kB)
    vq = _packets(8 * 2048 * 2 + 96 + 40)
    for la in ("fixed", "olla"):
        for hq in (1, 4):
            ch = NR(
                snr_db=a.snr_db,
                model=a.model,
                speed_mps=a.speed_mps,
                link_adaptation=la,
                harq_max_tx=hq,
            )
            stream = ch.stream(0)
            stream.transmit(vq, seed=0)
            t0 = time.perf_counter()
            n = 10
            for i in range(n):
                d = stream.transmit(vq, seed=i)
            dt = (time.perf_counter() - t0) / n
            print(
                f"  abstract per image (33 kB, 51 PRB, {la}, harq_max_tx={hq}): "
                f"{1e3 * dt:7.1f} ms  ({d.stats['tb_count']} TBs, "
                f"{d.stats['harq_transmissions']} transmissions)"
            )


if __name__ == "__main__":
    main()
