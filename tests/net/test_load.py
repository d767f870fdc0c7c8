"""Many edges at once: every request answered (or explicitly refused / timed out),
no crash, the server's held memory within its limits."""

from __future__ import annotations

import asyncio

from collab_infer.net import EdgeClient, Limits, NetServer
from collab_infer.net.limits import payload_budget_bytes
from tests.net.conftest import KEY, run

EDGES, IMAGES = 8, 25


async def _edges(address, encoded, n_edges, n_images, timeout_s):
    clients = [EdgeClient(address, key=KEY, reply_timeout_s=timeout_s) for _ in range(n_edges)]
    for c in clients:
        await c.start()

    async def one_edge(j, c):
        out = []
        for i in range(n_images):
            which = (i + j) % len(encoded)
            out.append((which, await c.send(encoded[which])))
        return out

    try:
        parts = await asyncio.gather(*[one_edge(j, c) for j, c in enumerate(clients)])
    finally:
        for c in clients:
            await c.close()
    return [x for part in parts for x in part]


class TestConcurrentEdges:
    def test_8_edges_x_25_images(self, server, encoded, reference):
        """200 requests from 8 edges: all answered ok with the in-process caption of their
        payload, batched across edges; afterwards nothing is held, and the peak of held
        packet bytes stayed under the limits."""
        limits = Limits(max_batch=8, max_wait_ms=20)

        async def scenario():
            async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
                results = await _edges(net.address, encoded, EDGES, IMAGES, timeout_s=30)
                return results, net.snapshot()

        results, snap = run(scenario())
        assert len(results) == EDGES * IMAGES
        assert [r.status for _, r in results] == ["ok"] * (EDGES * IMAGES)
        assert all(r.caption == reference[i] for i, r in results)
        assert snap["requests"] == EDGES * IMAGES == snap["payloads_complete"]
        assert snap["mean_batch"] > 1 and max(int(b) for b in snap["batch_sizes"]) <= 8
        assert snap["dropped"]["internal_error"] == 0 and sum(snap["dropped"].values()) == 0
        tables = snap["tables"]
        assert tables["inflight"] == 0 and tables["reassembling"] == 0
        assert tables["buffer_bytes"] == 0
        bound = min(limits.max_buffer_bytes, EDGES * payload_budget_bytes(server.expect))
        assert 0 < tables["peak_buffer_bytes"] <= bound
        assert tables["replay_window_used"] == EDGES * IMAGES <= limits.replay_window

    def test_over_the_total_limit_edges_are_refused_explicitly(self, server, encoded):
        """8 edges against a total of 4 payloads in flight: each request ends as ok or
        as an explicit refusal (never silence), and the server keeps serving."""
        limits = Limits(max_inflight=4, max_inflight_per_client=1, max_batch=4, max_wait_ms=50)

        async def scenario():
            async with NetServer(server, key=KEY, port=0, limits=limits, metrics=False) as net:
                results = await _edges(net.address, encoded, EDGES, 3, timeout_s=30)
                return results, net.snapshot()

        results, snap = run(scenario())
        statuses = [r.status for _, r in results]
        assert len(statuses) == EDGES * 3 and set(statuses) <= {"ok", "refused"}
        assert "refused" in statuses and "ok" in statuses
        assert snap["replies"]["refused"] == statuses.count("refused")
        assert snap["replies"]["ok"] == statuses.count("ok")
        assert snap["tables"]["inflight"] == 0
        assert all("in flight" in r.reply["reason"] for _, r in results if r.status == "refused")
