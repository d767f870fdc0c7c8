"""Shared fixtures of the network tests: the built-in default model loaded once, its
in-process server, and a few encoded payloads (all on loopback, torch threads 1)."""

from __future__ import annotations

import asyncio

import pytest
import torch

#: every scenario ends within this many seconds or fails (never hangs)
SCENARIO_TIMEOUT_S = 60.0
KEY = b"collab-infer test key, 32 bytes!"


def run(coro, timeout_s: float = SCENARIO_TIMEOUT_S):
    """Run one asyncio scenario with a hard time limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


@pytest.fixture(scope="session")
def vlm():
    torch.set_num_threads(1)
    from collab_infer.models import load

    return load("default")


@pytest.fixture(scope="session")
def server(vlm):
    from collab_infer.server import Server

    return Server(vlm, max_new_tokens=6)


@pytest.fixture(scope="session")
def samples():
    from collab_infer import datasets

    return datasets.load("shapes", split="test", n=8)


@pytest.fixture(scope="session")
def payloads(vlm, samples):
    """K = 8 k-means payloads of 8 test images (reducer seed 0)."""
    from collab_infer.edge import Edge

    edge = Edge(vlm, "kmeans", 8)
    return edge.reduce(edge.encode([s.image for s in samples]), seed=0)


@pytest.fixture(scope="session")
def encoded(payloads):
    """``codec.encode(payload, "fp16")`` of each payload."""
    import codec

    return [codec.encode(p, "fp16") for p in payloads]


@pytest.fixture(scope="session")
def reference(server, payloads):
    """The in-process Server's captions of the payloads."""
    return server.caption(payloads)
