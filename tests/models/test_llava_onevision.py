"""The LLaVA-OneVision adapter on a tiny random checkpoint: images resized to 40 x 64 take
the 2 x 2 pinpoint (4 crops of 32 + the base image, 16 tokens each), the stitched 8 x 8
grid is unpadded to 6 x 8 rows for the 40:64 aspect, N = 16 + 48 = 64 (+ 6 newlines that
the server adds); SigLIP 32-d, Qwen2 64-d."""

import pytest
import torch

from collab_infer.models.llava_onevision import LlavaOnevision
from tests.models.adapter_checks import (
    check_batched_equals_single,
    check_replaced_tokens_change_the_output,
    check_reproduces_pixel_values_path,
    check_vision_split,
    hf_generate,
    load_tiny,
)

SIZE = (40, 64)


@pytest.fixture(scope="module")
def vlm(tiny_llava_onevision_dir):
    return load_tiny("llava_onevision", tiny_llava_onevision_dir, image_size=SIZE)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + image_sizes -> generate (newlines in the prompt too)."""
    pixels, sizes = vlm.pixel_values([image])
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens + vlm.grid_shape[0], vlm.prompt)])
    return hf_generate(vlm, ids, num_beams, pixel_values=pixels, image_sizes=sizes)


class TestLlavaOnevision:
    def test_attributes(self, vlm):
        assert isinstance(vlm, LlavaOnevision)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (64, None, 64)
        d = vlm.describe()
        assert (d["crops"], d["grid_shape"], d["segments"]) == (4, [6, 8], [[0, 16], [16, 64]])

    def test_tokens_are_the_packed_features_without_newlines(self, vlm, images, tokens):
        pixels, sizes = vlm.pixel_values(images)
        with torch.no_grad():
            packed = vlm.model.model.get_image_features(pixels, sizes).pooler_output
        packed = torch.stack(list(packed)).float()  # [3, 70, 64]
        newline = vlm.model.model.image_newline.float()
        rows = packed[:, 16:].reshape(3, 6, 9, 64)
        torch.testing.assert_close(rows[:, :, -1], newline.expand(3, 6, 64), rtol=0, atol=0)
        torch.testing.assert_close(tokens[:, :16], packed[:, :16], rtol=0, atol=0)
        torch.testing.assert_close(tokens[:, 16:], rows[:, :, :8].reshape(3, 48, 64))

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        check_reproduces_pixel_values_path(vlm, images, tokens, reference, num_beams)

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        check_replaced_tokens_change_the_output(vlm, tokens)

    def test_a_subset_keeps_one_newline_per_grid_row(self, vlm, tokens):
        kept = torch.tensor([0, 3, 16, 17, 40, 63])  # 2 base, 2 in row 0, 1 in row 3, 1 in row 5
        feats = vlm._decoder_feats(tokens[0][kept].double(), kept, 0)
        newline = vlm.model.model.image_newline
        assert feats.shape[0] == 6 + 6
        is_newline = (feats == newline).all(-1).tolist()
        assert is_newline == [False] * 4 + [True, True, True, False, True, True, False, True]
        with pytest.raises(ValueError, match=r"pass positions\[0\]"):
            vlm.generate([tokens[0][:5]])
        with pytest.raises(ValueError, match="strictly ascending"):
            vlm.generate([tokens[0][:2]], positions=[torch.tensor([5, 1])])

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 64, 5, 22
        positions = [None, torch.arange(5), torch.arange(0, 64, 3)]
        check_batched_equals_single(vlm, seqs, num_beams, positions)

    def test_vision_split_packs_on_the_server(self, tiny_llava_onevision_dir, vlm, images, tokens):
        vis = load_tiny(
            "llava_onevision", tiny_llava_onevision_dir, split="vision", image_size=SIZE
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 5 * 16, 32)
        check_vision_split(vis, vlm, raw, tokens)
        with pytest.raises(ValueError, match="needs all 80 tokens"):
            vis.generate([raw[0][:10]])
