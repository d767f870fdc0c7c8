"""10,000 random and mutated datagrams leave the server serving; each is dropped and
counted under the right reason."""

from __future__ import annotations

import asyncio

import numpy as np
import torch

import codec
from collab_infer.net import EdgeClient, Limits, NetServer
from collab_infer.net.protocol import seal
from tests.net.conftest import KEY, run

WRONG_KEY = b"an attacker's guess at the key!!"


def _datagrams(encoded: list[bytes], rng: np.random.Generator) -> dict[str, list[bytes]]:
    """8,500 hostile datagrams by kind (the test adds 1,500 replayed ones)."""
    packets = [p for data in encoded for p in codec.packetize(data, 400, payload_id=12345)]

    def pick() -> bytes:
        return packets[int(rng.integers(len(packets)))]

    def flipped(p: bytes) -> bytes:  # 1-3 bit errors: CRC-32 detects every one
        b = bytearray(p)
        for pos in rng.choice(len(b) * 8, size=int(rng.integers(1, 4)), replace=False):
            b[pos // 8] ^= 1 << (pos % 8)
        return bytes(b)

    other = codec.VQPayload(torch.randn(4, 16), torch.zeros(64, dtype=torch.long))
    foreign = codec.packetize(codec.encode(other, "fp16"), 400, payload_id=777)  # D=16, not 192
    return {
        "random": [rng.bytes(int(rng.integers(1, 1400))) for _ in range(1500)],
        "wrong_key": [seal(WRONG_KEY, pick()) for _ in range(1500)],
        "truncated": [seal(KEY, pick())[: int(rng.integers(1, 33))] for _ in range(700)]
        + [(lambda d: d[: int(rng.integers(33, len(d)))])(seal(KEY, pick())) for _ in range(800)],
        "oversized": [rng.bytes(int(rng.integers(1473, 4000))) for _ in range(1000)],
        "bit_flipped": [seal(KEY, flipped(pick())) for _ in range(2000)],
        "garbage_body": [seal(KEY, rng.bytes(int(rng.integers(1, 600)))) for _ in range(500)],
        "foreign_model": [seal(KEY, foreign[i % len(foreign)]) for i in range(500)],
    }


async def _send_all(transport, net: NetServer, datagrams: list[bytes]) -> None:
    """Send in chunks of 50, each after the server has read the previous ones (so the
    kernel's socket buffer never overflows and every datagram is counted; asyncio sends
    no empty datagram, so every one holds at least one byte)."""
    for lo in range(0, len(datagrams), 50):
        target = net.metrics.counts["datagrams"] + len(datagrams[lo : lo + 50])
        for d in datagrams[lo : lo + 50]:
            transport.sendto(d)
        for _ in range(5000):  # at most ~5 s; the count assertions then tell what is missing
            if net.metrics.counts["datagrams"] >= target:
                break
            await asyncio.sleep(0.001)


class TestHostileDatagrams:
    def test_10000_datagrams_dropped_counted_and_still_serving(self, server, encoded, reference):
        rng = np.random.default_rng(16)
        kinds = _datagrams(encoded, rng)
        limits = Limits(rate_per_s=1e6, rate_burst=100000, reassembly_timeout_s=0.3)

        async def scenario():
            async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
                async with EdgeClient(net.address, key=KEY, mtu=400, reply_timeout_s=20) as c:
                    first = await c.send(encoded[0])
                    # a replay: the answered payload's own datagrams, from the same address
                    again = codec.packetize(encoded[0], 400, payload_id=first.payload_id)
                    kinds["replayed"] = [seal(KEY, again[i % len(again)]) for i in range(1500)]
                    hostile = [d for ds in kinds.values() for d in ds]
                    order = rng.permutation(len(hostile))
                    await _send_all(c._transport, net, [hostile[i] for i in order])
                before = net.snapshot()
                async with EdgeClient(net.address, key=KEY, mtu=400, reply_timeout_s=20) as c:
                    last = await c.send(encoded[1])
                return first, last, before, net.snapshot()

        first, last, before, after = run(scenario())
        n = {k: len(v) for k, v in kinds.items()}
        assert sum(n.values()) == 10000
        assert first.status == "ok" and first.caption == reference[0]
        assert last.status == "ok" and last.caption == reference[1]
        d = before["dropped"]
        assert d["unauthenticated"] == n["random"] + n["wrong_key"] + n["truncated"]
        assert d["oversized"] == n["oversized"]
        assert d["malformed"] == n["bit_flipped"] + n["garbage_body"] + n["foreign_model"]
        assert d["replayed"] == n["replayed"]
        assert d["internal_error"] == 0
        hostile = sum(n.values())
        assert before["datagrams"] == first.packets + hostile
        assert sum(d.values()) == hostile and before["requests"] == 1
        assert after["requests"] == 2 and after["tables"]["inflight"] == 0
