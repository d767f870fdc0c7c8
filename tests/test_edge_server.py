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

    def test_crafted_packet_is_refused_before_allocating(self, vlm, server):
        # issue #13: one 16-byte packet with a valid CRC declaring N = 2**20 tokens made
        # Server.caption run 69 s and reach 12.8 GiB, then raise RuntimeError. Now the
        # header is compared with the model's N and D first: the packet counts as
        # corrupted and the server captions its all-zero N x D stand-in.
        from codec.header import append_crc
        from codec.reader import write_varint

        fields = bytes((0, 1)) + write_varint(2**20) + write_varint(vlm.dim) + write_varint(2)
        pkt = append_crc(b"\xa2\x01\x00\x00\x00\x01" + fields + b"\x00\x00\x01")
        assert server.expect == codec.Expected(vlm.n_tokens, vlm.dim)
        r = codec.reassemble([pkt], expect=server.expect)
        assert r.payload is None and r.packets_corrupted == 1
        assert f"N=1048576 (expected {vlm.n_tokens})" in r.errors[0]
        received = server.receive([pkt])
        assert isinstance(received, codec.FullPayload) and not received.vectors.any()
        assert received.vectors.shape == (vlm.n_tokens, vlm.dim)
        assert len(server([[pkt]])) == 1

    def test_crafted_payload_is_refused_before_rebuilding(self, vlm, server):
        # a payload object with the model's D but N = 2**16 tokens (one centroid): refused
        # before the N x D sequence is built
        p = codec.VQPayload(torch.zeros(1, vlm.dim), torch.zeros(2**16, dtype=torch.long))
        with pytest.raises(codec.PayloadError, match=f"N=65536 \\(expected {vlm.n_tokens}\\)"):
            server.caption([p])

    def test_number_formats_limit_what_is_accepted(self, vlm, images):
        strict = Server(vlm, max_new_tokens=MAX_NEW, number_formats=("int8",))
        tx = Edge(vlm, "kmeans", k=3, number_format="fp16")(images[:1], seed=0)[0]
        received = strict.receive(tx.packets)  # every packet refused: zero stand-in
        assert isinstance(received, codec.FullPayload) and not received.vectors.any()
        with pytest.raises(ValueError, match="number_formats must be a non-empty subset"):
            Server(vlm, number_formats=("fp12",))

    def test_bad_settings(self, vlm):
        with pytest.raises(ValueError, match="subset_mode must be one of"):
            Server(vlm, subset_mode="keep")
        with pytest.raises(ValueError, match="index_fill must be one of"):
            Server(vlm, index_fill="zero")
