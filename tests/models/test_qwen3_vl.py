"""The Qwen3-VL adapter on a tiny random checkpoint (ViT 32-d with 3 blocks, DeepStack
from blocks 0 and 1, Qwen3 decoder 64-d with 3 layers and M-RoPE; images resized to
32 x 48: a 4 x 6 grid of 24 tokens, each [main, deepstack_1, deepstack_2] = 3 x 64)."""

import json

import pytest
import torch

from collab_infer.models import CheckpointError, load
from collab_infer.models.qwen3_vl import Qwen3VL
from tests.models.adapter_checks import check_batched_equals_single

MAX_NEW = 6
SIZE = (32, 48)
D = 64


@pytest.fixture(scope="module")
def tiny_qwen3_vl_dir(tmp_path_factory):
    from collab_infer.models.tiny_qwen3 import build_tiny_qwen3_vl

    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("tiny_qwen3_vl"))


def _load(path, **kw):
    # float64 so that batched (padded) and single-sample runs cannot flip a greedy choice
    return load(f"qwen3_vl:{path}", device="cpu", dtype=torch.float64, image_size=SIZE, **kw)


@pytest.fixture(scope="module")
def vlm(tiny_qwen3_vl_dir):
    return _load(tiny_qwen3_vl_dir)


@pytest.fixture(scope="module")
def dropped(tiny_qwen3_vl_dir):
    return _load(tiny_qwen3_vl_dir, deepstack="drop")


@pytest.fixture(scope="module")
def tokens(vlm, images):
    return vlm.encode(images)


def reference(vlm, image, num_beams=1, zero_deepstack=False):
    """HF's own path: pixel_values + image_grid_thw + mm_token_type_ids -> generate;
    ``zero_deepstack``: every DeepStack merger's output replaced by zeros."""
    pixels, grid = vlm.pixel_values([image])
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens, vlm.prompt)])
    mergers = vlm.model.model.visual.deepstack_merger_list if zero_deepstack else []
    handles = [m.register_forward_hook(lambda m, a, out: torch.zeros_like(out)) for m in mergers]
    try:
        out = vlm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            pixel_values=pixels,
            image_grid_thw=grid,
            mm_token_type_ids=(ids == vlm.image_token_id).int(),
            max_new_tokens=MAX_NEW,
            num_beams=num_beams,
            do_sample=False,
        )
    finally:
        for h in handles:
            h.remove()
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


class TestQwen3VL:
    def test_attributes(self, vlm, tiny_qwen3_vl_dir):
        assert isinstance(vlm, Qwen3VL)
        assert (vlm.n_tokens, vlm.grid, vlm.dim, vlm.deepstack_levels) == (24, (4, 6), 3 * D, 2)
        d = vlm.describe()
        assert (d["adapter"], d["deepstack"], d["deepstack_levels"]) == ("qwen3_vl", "send", 2)
        assert d["image_size"] == [32, 48] and d["weights"] == "random-init"
        # a bare directory picks the adapter from config.json
        assert isinstance(load(str(tiny_qwen3_vl_dir), device="cpu", image_size=SIZE), Qwen3VL)

    def test_encode_carries_main_and_deepstack_features(self, vlm, images, tokens):
        assert tokens.shape == (3, 24, 3 * D)
        pixels, grid = vlm.pixel_values(images)
        with torch.no_grad():
            out = vlm.model.model.get_image_features(pixels, grid)
        levels = [out.pooler_output, *out.deepstack_features]
        assert len(levels) == 3
        for k, level in enumerate(levels):
            part = tokens[..., k * D : (k + 1) * D].reshape(-1, D)
            torch.testing.assert_close(part, torch.cat(level).float(), rtol=0, atol=0)

    def test_position_ids_equal_get_rope_index(self, vlm):
        ids = torch.tensor([vlm._prompt_ids(24, vlm.prompt)])
        mask = torch.ones_like(ids)
        ref, _ = vlm.model.model.get_rope_index(
            ids, (ids == vlm.image_token_id).int(), torch.tensor([[1, 8, 12]]), attention_mask=mask
        )
        ours = vlm._extra_generate_kwargs(ids, mask, [24], [None])["position_ids"]
        assert torch.equal(ours[1:], ref)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(vlm, im, num_beams) for im in images]
        assert len(set(captions)) >= 2

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]
        # the DeepStack parts of the payload are read: zeroing them alone changes the output
        main_only = tokens.clone()
        main_only[..., D:] = 0
        assert vlm.generate(list(main_only), max_new_tokens=MAX_NEW) != base

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 24, 5, 8
        positions = [None, torch.arange(5), torch.arange(0, 24, 3)]
        check_batched_equals_single(vlm, seqs, num_beams, positions=positions)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_drop_equals_the_model_with_zero_deepstack_features(
        self, dropped, vlm, images, tokens, num_beams
    ):
        main = dropped.encode(images)
        assert dropped.dim == D and main.shape == (3, 24, D)
        assert torch.equal(main, tokens[..., :D])
        captions = dropped.generate(list(main), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(dropped, im, num_beams, zero_deepstack=True) for im in images]
        if num_beams == 1:  # and it is a different computation from the model's own
            assert captions != vlm.generate(list(tokens), max_new_tokens=MAX_NEW)

    def test_vision_split_applies_all_mergers_on_the_server(
        self, tiny_qwen3_vl_dir, vlm, images, tokens
    ):
        vis = _load(tiny_qwen3_vl_dir, split="vision")
        raw = vis.encode(images)
        assert raw.shape == (3, 24, 3 * 4 * 32) and vis.dim == 384
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
            list(tokens), max_new_tokens=MAX_NEW
        )
        vis_drop = _load(tiny_qwen3_vl_dir, split="vision", deepstack="drop")
        assert vis_drop.encode(images[:1]).shape == (1, 24, 4 * 32)

    def test_bad_input(self, vlm, tokens, tiny_qwen3_vl_dir, tmp_path):
        with pytest.raises(ValueError, match=r"tokens\[0\] must have shape \[N_i >= 1, 192\]"):
            vlm.generate([tokens[0][:, :D]])
        with pytest.raises(ValueError, match=r"pass positions\[0\]"):
            vlm.generate([tokens[0][:5]])
        with pytest.raises(ValueError, match="deepstack must be one of"):
            load(f"qwen3_vl:{tiny_qwen3_vl_dir}", deepstack="keep")
        with pytest.raises(ValueError, match="unknown qwen3_vl option.*deepstack"):
            load(f"qwen3_vl:{tiny_qwen3_vl_dir}", deep_stack="drop")
        wrong = tmp_path / "qwen2_5"
        wrong.mkdir()
        (wrong / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
        with pytest.raises(CheckpointError, match="is a 'qwen2_5_vl' checkpoint, not 'qwen3_vl'"):
            load(f"qwen3_vl:{wrong}")
        with pytest.raises(CheckpointError, match="does not exist: check the path"):
            load(f"qwen3_vl:{tmp_path / 'missing'}")

    def test_edge_server_carry_the_deepstack_parts(self, vlm, dropped, images, tokens):
        """The payload's vectors are the (1 + L) D-wide tokens: the bits grow with D', and a
        dropped random subset decoded by the server equals generate() on the kept rows."""
        from collab_infer.edge import Edge
        from collab_infer.server import Server

        full = Edge(vlm, "full", None).send_tokens(tokens, seed=0)
        main = Edge(dropped, "full", None).send_tokens(tokens[..., :D], seed=0)
        assert full[0].payload.dim == 3 * D and main[0].payload.dim == D
        # fp16: 16 bits per value of every part, plus a small header (the D field grows by a
        # byte at D >= 128): the extra 2 x 64 values per token are really sent
        for t in (full[0], main[0]):
            assert 0 < t.payload_bits - 24 * t.payload.dim * 16 < 256
        sent = Edge(vlm, "random", 8).send_tokens(tokens, seed=3)
        server = Server(vlm, subset_mode="drop", max_new_tokens=MAX_NEW)
        payloads = [server.receive(t.packets) for t in sent]
        kept = server.positions(payloads)
        rows = server.rebuild(payloads)
        assert all(r.shape == (8, 3 * D) for r in rows)
        assert server.caption(payloads) == vlm.generate(
            rows, positions=kept, max_new_tokens=MAX_NEW
        )
