"""The InternVL adapter on a tiny random checkpoint: images resized to 32 x 64 are cut into
2 tiles of 32 x 32 plus a thumbnail, 16 tokens each after the pixel shuffle (N = 48),
InternViT 32-d, Qwen2 64-d."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.internvl import InternVL
from tests.models.adapter_checks import (
    MAX_NEW,
    check_batched_equals_single,
    check_replaced_tokens_change_the_output,
    check_reproduces_pixel_values_path,
    hf_generate,
    load_tiny,
    prompt_tensor,
)

SIZE = (32, 64)


@pytest.fixture(scope="module")
def vlm(tiny_internvl_dir):
    return load_tiny("internvl", tiny_internvl_dir, image_size=SIZE)


def reference(vlm, image, num_beams=1):
    """HF's own path: the tiles' pixel_values -> generate."""
    ids = prompt_tensor(vlm, vlm.n_tokens)
    return hf_generate(vlm, ids, num_beams, pixel_values=vlm.pixel_values([image]))


class TestInternVL:
    def test_attributes(self, vlm, tiny_internvl_dir):
        assert isinstance(vlm, InternVL)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (48, None, 64)
        assert vlm.describe()["tiles"] == 3
        one = load(f"internvl:{tiny_internvl_dir}", device="cpu")  # default: one tile
        assert (one.n_tokens, one.grid) == (16, (4, 4))

    def test_encode_matches_get_image_features(self, vlm, images, tokens):
        cfg = vlm.model.config
        with torch.no_grad():
            ref = vlm.model.model.get_image_features(
                pixel_values=vlm.pixel_values(images),
                vision_feature_layer=cfg.vision_feature_layer,
                vision_feature_select_strategy=cfg.vision_feature_select_strategy,
            ).pooler_output
        torch.testing.assert_close(tokens, ref.reshape(3, 48, 64).float(), rtol=0, atol=0)

    def test_prompt_layout(self, vlm):
        toks = vlm.tokenizer.convert_ids_to_tokens(vlm._prompt_ids(2, "a cat"))
        i = toks.index("<img>")
        assert toks[i : i + 4] == ["<img>", "<IMG_CONTEXT>", "<IMG_CONTEXT>", "</img>"]

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        check_reproduces_pixel_values_path(vlm, images, tokens, reference, num_beams)

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        check_replaced_tokens_change_the_output(vlm, tokens)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 48, 5, 16
        check_batched_equals_single(vlm, seqs, num_beams)

    def test_vision_split_applies_the_projector_on_the_server(
        self, tiny_internvl_dir, vlm, images, tokens
    ):
        vis = load_tiny("internvl", tiny_internvl_dir, split="vision", image_size=SIZE)
        raw = vis.encode(images)
        assert raw.shape == (3, 48, 4 * 32)
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        subset = [raw[0][::2], raw[1]]  # per-token projector: any subset works
        assert vis.generate(subset, max_new_tokens=MAX_NEW) == vlm.generate(
            [tokens[0][::2], tokens[1]], max_new_tokens=MAX_NEW
        )
