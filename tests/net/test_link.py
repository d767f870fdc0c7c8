"""Through ``LinkProxy`` on loopback: a channel model impairs real datagrams."""

from __future__ import annotations

import asyncio
import math
import socket

import numpy as np

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


class _Echo(asyncio.DatagramProtocol):
    """A stand-in server: records what arrives and echoes it back."""

    def __init__(self) -> None:
        self.got: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.append(data)
        self.transport.sendto(b"echo:" + data[:8], addr)


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[bytes] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.append(data)


class TestProxyWithoutModel:
    def test_gilbert_elliott_bursts_span_datagrams_and_replies_find_their_client(self):
        """2 clients x 1,000 datagrams through Gilbert-Elliott (10% loss, bursts of 4):
        each link's channel process carries its state from datagram to datagram (mean
        loss burst well above the 1.1 of independent losses), the loss rate lies within
        a tolerance widened for the bursts' correlation, and each client gets back
        exactly the echoes of its own delivered datagrams."""
        from channel.erasure import loss_runs

        async def scenario():
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**22)  # bursts of 50
            sock.bind(("127.0.0.1", 0))
            echo_t, echo = await loop.create_datagram_endpoint(_Echo, sock=sock)
            ch = channel.make("gilbert_elliott", loss_rate=0.1, mean_burst_length=4)
            forward = echo_t.get_extra_info("sockname")
            sinks = []
            async with LinkProxy(("127.0.0.1", 0), forward, ch, seed=5) as proxy:
                for client in range(2):
                    t, sink = await loop.create_datagram_endpoint(_Sink, remote_addr=proxy.address)
                    sinks.append((t, sink))
                    for i in range(1000):
                        t.sendto(bytes([client]) + i.to_bytes(4, "little") + bytes(59))
                        if i % 50 == 49:  # let the proxy and the echo catch up
                            for _ in range(200):
                                await asyncio.sleep(0.002)
                                if len(echo.got) >= proxy.stats()["forwarded"]:
                                    break
                for _ in range(1000):  # until all is read and every echo is back (or ~5 s)
                    st = proxy.stats()
                    echoed = sum(len(s.got) for _, s in sinks)
                    if st["datagrams"] == 2000 and echoed >= st["forwarded"]:
                        break
                    await asyncio.sleep(0.005)
                stats = proxy.stats()
            for t, _ in sinks:
                t.close()
            echo_t.close()
            return stats, echo.got, [s.got for _, s in sinks]

        stats, arrived, echoes = run(scenario())
        assert (
            stats["datagrams"] == 2000
            and stats["forwarded"] == len(arrived) == 2000 - stats["lost"]
        )
        # bursts of mean 4 inflate the variance about 2 x 4 - 1 = 7 fold: 4 sigma of that
        tolerance = 4 * math.sqrt(7 * 0.1 * 0.9 / 2000)
        assert abs(stats["loss_rate"] - 0.1) <= tolerance
        for client in range(2):
            seq = sorted(int.from_bytes(d[1:5], "little") for d in arrived if d[0] == client)
            lost = np.ones(1000, dtype=bool)
            lost[seq] = False
            assert loss_runs(lost).mean() > 2.0
            assert sorted(echoes[client]) == sorted(
                b"echo:" + bytes([client]) + s.to_bytes(4, "little") + bytes(3) for s in seq
            )
