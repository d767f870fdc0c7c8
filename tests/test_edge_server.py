"""Edge and server roles end to end on a tiny PaliGemma checkpoint."""

import numpy as np
import pytest
import torch
from PIL import Image

import channel
import codec
from collab_infer.edge import Edge, Transmission
from collab_infer.models import load
from collab_infer.server import Server

MAX_NEW = 5


@pytest.fixture(scope="module")
def vlm(tmp_path_factory):
    from collab_infer.models.tiny import build_tiny_paligemma

    d = build_tiny_paligemma(tmp_path_factory.mktemp("tiny_pg"))
    return load(f"paligemma:{d}", device="cpu", dtype=torch.float64)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return [Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)) for _ in range(2)]


@pytest.fixture(scope="module")
def server(vlm):
    return Server(vlm, max_new_tokens=MAX_NEW)


class TestEdge:
    def test_transmission_counts_the_real_bytes(self, vlm, images):
        edge = Edge(vlm, "kmeans", k=4, number_format="fp16", mtu=200)
        txs = edge(images, seed=0)
        assert len(txs) == 2 and all(isinstance(t, Transmission) for t in txs)
        for tx in txs:
            assert tx.payload_bits == 8 * len(codec.encode(tx.payload, "fp16"))
            assert tx.packet_bits == 8 * sum(len(p) for p in tx.packets) > tx.payload_bits
            assert (tx.vectors_sent, tx.n_tokens) == (4, 16)
            assert len(tx.packets) > 1  # mtu 200 < payload

    def test_seeded(self, vlm, images):
        edge = Edge(vlm, "random", k=5)
        assert [t.data for t in edge(images, seed=3)] == [t.data for t in edge(images, seed=3)]

    def test_bad_settings(self, vlm):
        with pytest.raises(ValueError, match="number_format must be one of"):
            Edge(vlm, "kmeans", k=4, number_format="fp12")
        with pytest.raises(ValueError, match="index_coding must be one of"):
            Edge(vlm, "kmeans", k=4, index_coding="zip")
        with pytest.raises(ValueError, match="unknown reducer"):
            Edge(vlm, "kmean", k=4)


class TestServer:
    def test_lossless_full_payload_reproduces_direct_generation(self, vlm, images, server):
        tokens = vlm.encode(images)
        txs = Edge(vlm, "full", k=None, number_format="fp32").send_tokens(tokens, seed=0)
        delivery = [channel.make("ideal").transmit(tx.packets, seed=0) for tx in txs]
        captions = server([d.packets for d in delivery])
        assert captions == vlm.generate(list(tokens), max_new_tokens=MAX_NEW)

    def test_vq_tokens_become_their_centroids(self, vlm, images, server):
        txs = Edge(vlm, "kmeans", k=3, number_format="fp32")(images, seed=0)
        received = [server.receive(tx.packets) for tx in txs]
        for tx, p in zip(txs, received, strict=True):
            torch.testing.assert_close(p.centroids, tx.payload.centroids.float())
            assert torch.equal(p.indices, tx.payload.indices)
        expected = vlm.generate(
            [tx.payload.centroids[tx.payload.indices].float() for tx in txs],
            max_new_tokens=MAX_NEW,
        )
        assert server.caption(received) == expected

    def test_lost_packets_are_concealed(self, vlm, images, server):
        tx = Edge(vlm, "kmeans", k=4, mtu=100)(images[:1], seed=0)[0]
        some = [None if i % 2 else p for i, p in enumerate(tx.packets)]
        none = [None] * len(tx.packets)
        captions = server([some, none])
        assert len(captions) == 2 and all(isinstance(c, str) for c in captions)
        assert server.receive(none).n_tokens == 16  # all-zero N x D stand-in

    def test_dropped_subset_gives_a_shorter_sequence(self, vlm, images):
        server = Server(vlm, subset_mode="drop", max_new_tokens=MAX_NEW)
        txs = Edge(vlm, "topk_norm", k=5)(images, seed=0)
        payloads = [server.receive(tx.packets) for tx in txs]
        assert [t.shape[0] for t in server.rebuild(payloads)] == [5, 5]
        assert len(server.caption(payloads)) == 2

    def test_split_mismatch_is_reported(self, vlm, images, server):
        payload = codec.FullPayload(torch.zeros(16, 32))
        with pytest.raises(ValueError, match="same split"):
            server.caption([payload])

    def test_bad_settings(self, vlm):
        with pytest.raises(ValueError, match="subset_mode must be one of"):
            Server(vlm, subset_mode="keep")
        with pytest.raises(ValueError, match="index_fill must be one of"):
            Server(vlm, index_fill="zero")
