"""``NetServer`` + ``EdgeClient`` on loopback: captions equal the in-process Server's,
the metrics endpoint answers, a missing server is an explicit timeout."""

from __future__ import annotations

import asyncio
import json

from collab_infer.net import EdgeClient, Limits, NetServer
from tests.net.conftest import KEY, run


async def _http_get(address, path: bytes) -> tuple[bytes, dict]:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET " + path + b" HTTP/1.0\r\n\r\n")
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


class TestIdealLink:
    def test_captions_equal_in_process_and_batch_across_edges(self, server, encoded, reference):
        """Three edges at once, with a key: every caption equals the in-process Server's
        caption of the same payload, and payloads of different edges share batches."""

        async def scenario():
            limits = Limits(max_batch=8, max_wait_ms=200)  # long wait: batching is certain
            async with NetServer(server, key=KEY, port=0, limits=limits) as net:
                clients = [
                    EdgeClient(net.address, key=KEY, mtu=400, reply_timeout_s=30) for _ in range(3)
                ]
                for c in clients:
                    await c.start()
                try:

                    async def one_edge(c, part):
                        return [(i, await c.send(encoded[i])) for i in part]

                    parts = [range(0, 3), range(3, 6), range(6, 8)]
                    done = await asyncio.gather(
                        *[one_edge(c, p) for c, p in zip(clients, parts, strict=True)]
                    )
                finally:
                    for c in clients:
                        await c.close()
                status, metrics = await _http_get(net.metrics_address, b"/metrics")
                health = await _http_get(net.metrics_address, b"/health")
                bad = await _http_get(net.metrics_address, b"/nope")
            return [x for part in done for x in part], status, metrics, health, bad

        results, status, metrics, health, bad = run(scenario())
        assert len(results) == 8
        for i, r in results:
            assert r.status == "ok", r.reply
            assert r.caption == reference[i]
            assert r.reply["packets_lost"] == 0 and r.reply["complete"] == 1
            assert r.reply["vectors_missing"] == 0 and r.packets > 1
        assert max(r.reply["batch_size"] for _, r in results) > 1
        assert status == b"HTTP/1.0 200 OK"
        assert metrics["requests"] == 8 and metrics["replies"]["ok"] == 8
        assert metrics["payloads_complete"] == 8 and metrics["mean_batch"] > 1
        assert sum(int(k) * v for k, v in metrics["batch_sizes"].items()) == 8
        assert (
            metrics["latency_s"]["n"] == 8
            and metrics["latency_s"]["p99"] >= metrics["latency_s"]["p50"]
        )
        assert sum(metrics["dropped"].values()) == 0
        assert metrics["tables"]["inflight"] == 0 and metrics["tables"]["buffer_bytes"] == 0
        assert health == (b"HTTP/1.0 200 OK", {"status": "ok"})
        assert bad[0] == b"HTTP/1.0 404 Not Found"

    def test_wrong_key_is_dropped_and_times_out(self, server, encoded):
        async def scenario():
            async with NetServer(server, key=KEY, port=0, metrics=False) as net:
                async with EdgeClient(
                    net.address, key=b"not the server's key!", reply_timeout_s=0.5
                ) as c:
                    r = await c.send(encoded[0])
                return r, net.snapshot()

        r, snap = run(scenario())
        assert r.status == "timeout" and r.reply == {} and r.caption == ""
        assert snap["dropped"]["unauthenticated"] == r.packets and snap["requests"] == 0


class TestNoServer:
    def test_explicit_timeout(self, encoded):
        async def scenario():
            async with EdgeClient(("127.0.0.1", 9), reply_timeout_s=0.3) as c:  # discard port
                return await c.send(encoded[0])

        r = run(scenario())
        assert r.status == "timeout" and r.reply == {}


class TestEdgePipeline:
    def test_caption_images_rows(self, vlm, server, samples, reference):
        """The edge's whole path (encode, reduce, codec, send) gives the in-process
        captions and one row per image with the latency breakdown."""
        import channel
        from collab_infer.edge import Edge
        from collab_infer.net import caption_images

        edge = Edge(vlm, "kmeans", 8)
        pacing = channel.make("rate_limited", bandwidth_bps=5e6)

        async def scenario():
            async with (
                NetServer(server, port=0, metrics=False) as net,
                EdgeClient(net.address, channel=pacing, reply_timeout_s=30) as c,
            ):
                return await caption_images(edge, c, [s.image for s in samples[:3]], seed=0)

        rows = run(scenario())
        assert [r["caption"] for r in rows] == reference[:3]
        for r in rows:
            assert r["status"] == "ok" and r["packets_lost"] == 0 and r["tag_bytes_per_packet"] == 0
            assert (
                r["bits"] == 8 * r["payload_bytes"] and r["bits_on_air"] == 8 * r["datagram_bytes"]
            )
            assert r["airtime_s"] == r["bits_on_air"] / 5e6
            for name in ("encode_s", "reduce_s", "codec_s", "send_s", "queue_s", "generate_s"):
                assert r[name] >= 0
            assert r["e2e_s"] >= r["rtt_s"] >= r["server_s"] > 0


class TestNoKeyServer:
    def test_empty_and_garbage_datagrams_are_malformed(self, server, encoded, reference):
        """Without a key the datagram is the packet: empty and random datagrams are
        refused by the codec's parser, counted, and the server still answers."""
        import socket

        import numpy as np

        rng = np.random.default_rng(0)

        async def scenario():
            async with NetServer(server, port=0, metrics=False) as net:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    for d in [b""] + [rng.bytes(int(rng.integers(1, 1400))) for _ in range(99)]:
                        sock.sendto(d, net.address)
                finally:
                    sock.close()
                async with EdgeClient(net.address, reply_timeout_s=30) as c:
                    r = await c.send(encoded[2])
                return r, net.snapshot()

        r, snap = run(scenario())
        assert r.status == "ok" and r.caption == reference[2]
        assert snap["dropped"]["malformed"] == 100 and snap["dropped"]["internal_error"] == 0


class TestFailingModel:
    def test_a_failing_generate_answers_error_and_the_server_keeps_serving(
        self, vlm, encoded, reference
    ):
        from collab_infer.server import Server

        class Flaky(Server):
            fail = True

            def caption(self, payloads):
                if self.fail:
                    raise RuntimeError("the decoder fell over")
                return super().caption(payloads)

        flaky = Flaky(vlm, max_new_tokens=6)

        async def scenario():
            async with NetServer(flaky, port=0, metrics=False) as net:
                async with EdgeClient(net.address, reply_timeout_s=30) as c:
                    bad = await c.send(encoded[0])
                    flaky.fail = False
                    good = await c.send(encoded[0])
                return bad, good, net.snapshot()

        bad, good, snap = run(scenario())
        assert bad.status == "error" and "fell over" in bad.reply["reason"]
        assert good.status == "ok" and good.caption == reference[0]
        assert snap["replies"] == {"ok": 1, "refused": 0, "error": 1}
