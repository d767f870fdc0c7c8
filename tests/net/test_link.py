"""Through ``LinkProxy`` on loopback: a channel model impairs real datagrams."""

from __future__ import annotations

import asyncio
import math

import channel
from collab_infer.net import EdgeClient, Limits, LinkProxy, NetServer
from tests.net.conftest import KEY, run

LOSS = 0.1


class TestErasureLink:
    def test_measured_loss_matches_the_configured_rate_and_is_concealed(self, server, encoded):
        """24 payloads of ~17 packets (mtu 200; 4 edges, one link each) through
        ``erasure`` at 10%: the loss the server measures equals the proxy's count
        (nothing else is lost on loopback) and lies within 4 binomial standard
        deviations of 10%; every image is captioned, with the lost rows concealed."""

        async def scenario():
            limits = Limits(reassembly_timeout_s=0.2, max_wait_ms=5)
            async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
                ch = channel.make("erasure", loss=LOSS)
                async with LinkProxy(("127.0.0.1", 0), net.address, ch, seed=3) as proxy:
                    clients = [
                        EdgeClient(proxy.address, key=KEY, mtu=200, reply_timeout_s=20)
                        for _ in range(4)
                    ]
                    for c in clients:
                        await c.start()

                    async def one_edge(c, j):  # 6 images each, 4 edges at once
                        return [await c.send(encoded[(j + i) % len(encoded)]) for i in range(6)]

                    try:
                        parts = await asyncio.gather(
                            *[one_edge(c, j) for j, c in enumerate(clients)]
                        )
                    finally:
                        for c in clients:
                            await c.close()
                    return [r for part in parts for r in part], proxy.stats(), net.snapshot()

        results, proxy, snap = run(scenario())
        assert all(r.status == "ok" and r.caption for r in results)
        sent = sum(r.packets for r in results)
        lost = sum(r.reply["packets_lost"] for r in results)
        assert sum(r.reply["packets_expected"] for r in results) == sent == proxy["datagrams"]
        assert lost == proxy["lost"] and proxy["forwarded"] == sent - lost
        tolerance = 4 * math.sqrt(LOSS * (1 - LOSS) / sent)  # 4 sigma, about 0.05 at ~400
        assert abs(lost / sent - LOSS) <= tolerance, (lost, sent)
        damaged = [r for r in results if r.reply["packets_lost"] > 0]
        assert damaged and all(r.reply["complete"] == 0 for r in damaged)
        # a lost rows packet loses its rows: they are concealed, the caption still comes
        assert sum(r.reply["vectors_missing"] + r.reply["indices_missing"] for r in damaged) > 0
        assert snap["payloads_timed_out"] == len(damaged)
        assert snap["dropped"]["unauthenticated"] == 0 and snap["dropped"]["malformed"] == 0

    def test_bit_errors_are_refused_by_the_tag(self, server, encoded):
        """An uncoded QPSK link at low SNR damages bits: damaged datagrams fail the HMAC
        check and are dropped and counted, never crash the server."""

        async def scenario():
            limits = Limits(reassembly_timeout_s=0.2)
            async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
                ch = channel.make("uncoded", modulation="qpsk", snr_db=11.0)
                async with LinkProxy(("127.0.0.1", 0), net.address, ch, seed=1) as proxy:
                    async with EdgeClient(proxy.address, key=KEY, mtu=200, reply_timeout_s=5) as c:
                        results = [await c.send(encoded[i]) for i in range(3)]
                    return results, proxy.stats(), net.snapshot()

        results, proxy, snap = run(scenario())
        assert proxy["damaged"] > 0
        assert snap["dropped"]["unauthenticated"] == proxy["damaged"]
        assert snap["dropped"]["internal_error"] == 0
        answered = [r for r in results if r.status == "ok"]
        assert all(r.reply["packets_lost"] >= 0 for r in answered)
        assert all(r.status in ("ok", "timeout") for r in results)
