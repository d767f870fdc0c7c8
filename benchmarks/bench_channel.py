"""Channel speed: CodedPhy link vs abstract mode vs Uncoded on PaliGemma-shaped payloads.

Payloads are random bytes of the real sizes, cut into 1400-byte packets:
VQ (K=8 fp16 centroids of D=2048 + 256 indices of 3 bits + header: ~33 kB) and full
(256 x 2048 fp16: 1 MiB). Link mode (Sionna, bit-true) runs the whole VQ payload and is
extrapolated per code block for the full payload (~3 min of decoding) unless
``--full-link`` is given.

    python benchmarks/bench_channel.py [--full-link] [--threads 1]
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


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--full-link", action="store_true", help="also run link mode on the full payload"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mcs", type=int, default=4)
    parser.add_argument("--snr-db", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from channel import CodedPhy, Uncoded

    payloads = {
        "vq K=8 fp16 (33 kB)": _packets(8 * 2048 * 2 + 96 + 40),
        "full fp16 (1 MiB)": _packets(256 * 2048 * 2),
    }
    abstract = CodedPhy(args.mcs, args.snr_db, mode="abstract")
    abstract_ray = CodedPhy(args.mcs, args.snr_db, fading="rayleigh", mode="abstract")
    link = CodedPhy(args.mcs, args.snr_db, mode="link")
    uncoded = Uncoded("16qam", 12.0)
    geo = abstract.geometry()
    print(
        f"CodedPhy mcs={args.mcs} ({abstract.current_mcs()[0].label}) Es/N0={args.snr_db} dB, "
        f"code block k_payload={geo.k_payload} k={geo.k} n={geo.n}; torch threads={args.threads}"
    )

    t0 = time.perf_counter()
    link.transmit(_packets(200), seed=0)  # Sionna import + 5G graph construction
    t_first = time.perf_counter() - t0
    print(f"link mode first call (import sionna, build encoder/decoder): {t_first:.1f} s")
    sample = _packets(3 * 1400)  # 3 packets
    t_sample = _time(lambda: link.transmit(sample, seed=1), repeat=1)
    sample_blocks = link.transmit(sample[:1], seed=1).stats["blocks"] * 3
    per_block = t_sample / sample_blocks
    print(
        f"link mode: {sample_blocks} blocks in {t_sample:.2f} s = {per_block * 1e3:.1f} ms/block, "
        f"{geo.k_payload / per_block / 1e6:.3f} Mbit/s payload"
    )

    for name, packets in payloads.items():
        bits = 8 * sum(len(p) for p in packets)
        blocks = abstract.transmit(packets, seed=0).stats["blocks"]
        t_abs = _time(lambda p=packets: abstract.transmit(p, seed=2), repeat=20)
        if args.full_link or name.startswith("vq"):
            t_link = _time(lambda p=packets: link.transmit(p, seed=3), repeat=1)
            how = "measured"
        else:
            t_link = per_block * blocks
            how = f"extrapolated from {sample_blocks} blocks"
        t_ray = _time(lambda p=packets: abstract_ray.transmit(p, seed=2), repeat=20)
        uncoded.transmit(packets, seed=0)
        t_unc = _time(lambda p=packets: uncoded.transmit(p, seed=4), repeat=5)
        uses = abstract.planned_channel_uses(packets)
        print(f"\n{name}: {len(packets)} packets, {bits / 1e6:.3f} Mbit, {blocks} code blocks")
        print(
            f"  channel uses {uses:,.0f} complex symbols; capacity ratio "
            f"{uses / (bits / abstract.capacity_per_use()):.2f} (>= 1: below Shannon)"
        )
        print(f"  CodedPhy link     {t_link:10.2f} s    ({how})")
        ratio = t_link / t_abs
        print(f"  CodedPhy abstract {t_abs * 1e3:10.3f} ms   -> link/abstract = {ratio:,.0f}x")
        print(f"  CodedPhy abstract, Rayleigh block fading {t_ray * 1e3:.3f} ms")
        print(f"  Uncoded 16qam     {t_unc * 1e3:10.3f} ms   -> {bits / t_unc / 1e6:.1f} Mbit/s")


if __name__ == "__main__":
    main()
