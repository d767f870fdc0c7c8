"""The SmolVLM (Idefics3) adapter on a tiny random checkpoint: images resized to 32 x 64 are
split into 1 x 2 tiles of 32 x 32 plus the global image, 16 tokens each after the pixel
shuffle (N = 48), SigLIP 32-d, Llama 64-d."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.smolvlm import SmolVLM
from tests.models.adapter_checks import (
    check_batched_equals_single,
    check_replaced_tokens_change_the_output,
    check_reproduces_pixel_values_path,
    check_vision_split,
    hf_generate,
    load_tiny,
    prompt_tensor,
)

SIZE = (32, 64)


@pytest.fixture(scope="module")
def vlm(tiny_smolvlm_dir):
    return load_tiny("smolvlm", tiny_smolvlm_dir, image_size=SIZE)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + pixel_attention_mask -> generate."""
    pixels, mask = vlm.preprocess([image])
    ids = prompt_tensor(vlm, vlm.n_tokens)
    return hf_generate(
        vlm, ids, num_beams, pixel_values=pixels.to(vlm.dtype), pixel_attention_mask=mask
    )


class TestSmolVLM:
    def test_attributes(self, vlm):
        assert isinstance(vlm, SmolVLM)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (48, None, 64)
        d = vlm.describe()
        assert (d["tiles"], d["frames"], d["image_size"]) == ([1, 2], 3, [32, 64])

    def test_prompt_is_the_processors_expansion(self, vlm):
        from transformers.models.smolvlm.processing_smolvlm import get_image_prompt_string

        image = get_image_prompt_string(
            1, 2, 16, "<fake_token_around_image>", "<image>", "<global-img>"
        )
        text = vlm.template.replace("<image>", image).replace("{prompt}", vlm.prompt)
        assert vlm._prompt_ids(48, vlm.prompt) == vlm.tokenizer(text)["input_ids"]

    def test_encode_matches_get_image_features(self, vlm, images, tokens):
        pixels, mask = vlm.preprocess(images)
        with torch.no_grad():
            ref = vlm.model.model.get_image_features(pixels.to(vlm.dtype), mask).pooler_output
        torch.testing.assert_close(tokens, torch.stack(ref).float(), rtol=0, atol=0)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        check_reproduces_pixel_values_path(vlm, images, tokens, reference, num_beams)

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        check_replaced_tokens_change_the_output(vlm, tokens)

    def test_a_subset_keeps_its_tiles(self, vlm):
        kept = torch.tensor([0, 3, 20, 40, 47])  # 2 in tile 1, 1 in tile 2, 2 global
        toks = vlm.tokenizer.convert_ids_to_tokens(vlm._prompt_ids_at(5, vlm.prompt, kept, 0))
        text = "".join(toks)
        assert "<row_1_col_1><image><image><fake_token_around_image><row_1_col_2><image>\n" in text
        assert "<global-img><image><image><fake_token_around_image>" in text
        with pytest.raises(ValueError, match=r"pass positions\[0\]"):
            vlm.generate([torch.zeros(5, 64)])
        with pytest.raises(ValueError, match="strictly ascending"):
            vlm.generate([torch.zeros(2, 64)], positions=[torch.tensor([5, 1])])

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 48, 5, 16
        positions = [None, torch.arange(5), torch.arange(0, 48, 3)]
        check_batched_equals_single(vlm, seqs, num_beams, positions)

    def test_vision_split_applies_the_connector_on_the_server(
        self, tiny_smolvlm_dir, vlm, images, tokens
    ):
        vis = load_tiny("smolvlm", tiny_smolvlm_dir, split="vision", image_size=SIZE)
        raw = vis.encode(images)
        assert raw.shape == (3, 3 * 64, 32)
        check_vision_split(vis, vlm, raw, tokens)

    def test_without_splitting_one_frame_on_a_grid(self, tiny_smolvlm_dir, images):
        one = load(f"smolvlm:{tiny_smolvlm_dir}", device="cpu", image_splitting=False)
        assert (one.n_tokens, one.grid) == (16, (4, 4))
        assert one.encode(images[:1]).shape == (1, 16, 64)
        with pytest.raises(ValueError, match="image_splitting must be True or False"):
            load(f"smolvlm:{tiny_smolvlm_dir}", image_splitting="no")
