"""The Qwen2.5-VL adapter on a tiny random checkpoint (ViT 32-d, 2 x 2 merger, Qwen2 64-d
with M-RoPE; images resized to 32 x 48: a 4 x 6 grid of 24 tokens)."""

import pytest
import torch

from collab_infer.models import CheckpointError, load
from collab_infer.models.qwen2_5_vl import Qwen2_5_VL
from tests.models.adapter_checks import check_batched_equals_single

MAX_NEW = 6
SIZE = (32, 48)


@pytest.fixture(scope="module")
def vlm(tiny_qwen2_5_vl_dir):
    # float64 so that batched (padded) and single-sample runs cannot flip a greedy choice
    return load(
        f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}", device="cpu", dtype=torch.float64, image_size=SIZE
    )


@pytest.fixture(scope="module")
def tokens(vlm, images):
    return vlm.encode(images)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + image_grid_thw + mm_token_type_ids -> generate."""
    pixels, grid = vlm.pixel_values([image])
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens, vlm.prompt)])
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
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


class TestQwen2_5_VL:
    def test_attributes(self, vlm):
        assert isinstance(vlm, Qwen2_5_VL)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (24, (4, 6), 64)
        d = vlm.describe()
        assert d["adapter"] == "qwen2_5_vl" and d["image_size"] == [32, 48]
        assert d["weights"] == "random-init"  # the tiny builder's marker, not "pretrained"

    def test_encode_matches_get_image_features(self, vlm, images, tokens):
        assert tokens.shape == (3, 24, 64)
        pixels, grid = vlm.pixel_values(images)
        assert grid.tolist() == [[1, 8, 12]] * 3
        with torch.no_grad():
            ref = torch.cat(vlm.model.model.get_image_features(pixels, grid).pooler_output)
        torch.testing.assert_close(tokens.reshape(-1, 64), ref.float(), rtol=0, atol=0)

    def test_position_ids_equal_get_rope_index(self, vlm):
        ids = torch.tensor([vlm._prompt_ids(24, vlm.prompt)])
        mask = torch.ones_like(ids)
        ref, _ = vlm.model.model.get_rope_index(
            ids, (ids == vlm.image_token_id).int(), torch.tensor([[1, 8, 12]]), attention_mask=mask
        )
        ours = vlm._extra_generate_kwargs(ids, mask, [24], [None])["position_ids"]
        assert torch.equal(ours[1:], ref)
        assert torch.equal(ours[0, 0], torch.arange(ids.shape[1]))

    def test_dropped_tokens_keep_their_positions(self, vlm):
        full_ids = torch.tensor([vlm._prompt_ids(24, vlm.prompt)])
        full = vlm._extra_generate_kwargs(full_ids, torch.ones_like(full_ids), [24], [None])[
            "position_ids"
        ]
        kept = torch.tensor([0, 5, 7, 23])
        ids = torch.tensor([vlm._prompt_ids(4, vlm.prompt)])
        ours = vlm._extra_generate_kwargs(ids, torch.ones_like(ids), [4], [kept])["position_ids"]
        start = int((full_ids[0] == vlm.image_token_id).nonzero()[0])
        image = full[1:, 0, start : start + 24]
        assert torch.equal(ours[1:, 0, start : start + 4], image[:, kept])
        # the text after the image keeps its own ids too
        assert torch.equal(ours[1:, 0, start + 4 :], full[1:, 0, start + 24 :])

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(vlm, im, num_beams) for im in images]
        assert all(captions)

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]

    def test_positions_change_the_output(self, vlm, tokens):
        # the same vectors on mirrored grid cells: M-RoPE really reads the positions
        own = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        flipped = torch.arange(24).flip(0)
        mirrored = vlm.generate(list(tokens), positions=[flipped] * 3, max_new_tokens=MAX_NEW)
        assert own != mirrored

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 24, 5, 8
        positions = [None, torch.arange(5), torch.arange(0, 24, 3)]
        check_batched_equals_single(vlm, seqs, num_beams, positions=positions)

    def test_vision_split_applies_the_merger_on_the_server(
        self, tiny_qwen2_5_vl_dir, vlm, images, tokens
    ):
        vis = load(
            f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}",
            device="cpu",
            dtype=torch.float64,
            split="vision",
            image_size=SIZE,
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 24, 4 * 32) and vis.dim == 128
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
            list(tokens), max_new_tokens=MAX_NEW
        )

    def test_max_pixels_bounds_the_grid(self, tiny_qwen2_5_vl_dir):
        small = load(
            f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}", device="cpu", image_size=64, max_pixels=32 * 32
        )
        assert small.grid == (4, 4) and small.describe()["image_size"] == [32, 32]

    def test_a_subset_without_positions_is_refused(self, vlm, tokens):
        with pytest.raises(ValueError, match=r"pass positions\[0\]"):
            vlm.generate([tokens[0][:5]])
        with pytest.raises(ValueError, match="must not repeat"):
            vlm.generate([tokens[0][:2]], positions=[torch.tensor([3, 3])])
        with pytest.raises(ValueError, match=r"lie in 0\.\.23"):
            vlm.generate([tokens[0][:1]], positions=[torch.tensor([24])])
        with pytest.raises(ValueError, match="one entry per token sequence"):
            vlm.generate([tokens[0]], positions=[None, None])

    def test_bad_options(self, tiny_qwen2_5_vl_dir, tiny_paligemma_dir):
        with pytest.raises(
            ValueError, match="unknown qwen2_5_vl option.*valid options: image_size"
        ):
            load(f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}", image_sise=32)
        with pytest.raises(ValueError, match="max_pixels must be a positive int"):
            load(f"qwen2_5_vl:{tiny_qwen2_5_vl_dir}", max_pixels=-1)
        with pytest.raises(CheckpointError, match="is a 'paligemma' checkpoint, not 'qwen2_5_vl'"):
            load(f"qwen2_5_vl:{tiny_paligemma_dir}")


@pytest.fixture(scope="module")
def vlm2(tiny_qwen2_vl_dir):
    return load(f"qwen2_vl:{tiny_qwen2_vl_dir}", device="cpu", dtype=torch.float64, image_size=SIZE)


class TestQwen2VL:
    """Qwen2-VL: the same adapter without windowed attention (ViT width ``embed_dim``)."""

    def test_unmodified_tokens_reproduce_the_pixel_values_path(self, vlm2, images):
        from collab_infer.models.qwen2_5_vl import Qwen2VL

        assert isinstance(vlm2, Qwen2VL) and (vlm2.n_tokens, vlm2.grid) == (24, (4, 6))
        tokens = vlm2.encode(images)
        for num_beams in (1, 2):
            captions = vlm2.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
            assert captions == [reference(vlm2, im, num_beams) for im in images]
        assert len(set(captions)) >= 2

    def test_vision_split(self, tiny_qwen2_vl_dir, vlm2, images):
        vis = load(
            f"qwen2_vl:{tiny_qwen2_vl_dir}",
            device="cpu",
            dtype=torch.float64,
            split="vision",
            image_size=SIZE,
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 24, 4 * 32)
        torch.testing.assert_close(vis.project(raw), vlm2.encode(images), rtol=1e-6, atol=1e-6)
