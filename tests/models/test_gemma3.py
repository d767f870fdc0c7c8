"""The Gemma 3 adapter on a tiny random checkpoint (SigLIP 32-d on 8 x 8 patches, pooled
to 4 x 4 = 16 tokens, Gemma 3 64-d with one sliding and one global layer)."""

import pytest
import torch

from collab_infer.models.gemma3 import Gemma3
from tests.models.adapter_checks import (
    MAX_NEW,
    check_batched_equals_single,
    check_replaced_tokens_change_the_output,
    check_reproduces_pixel_values_path,
    check_vision_split,
    hf_generate,
    load_tiny,
    prompt_tensor,
)


@pytest.fixture(scope="module")
def vlm(tiny_gemma3_dir):
    return load_tiny("gemma3", tiny_gemma3_dir)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + token_type_ids (1 on image tokens) -> generate."""
    ids = prompt_tensor(vlm, vlm.n_tokens)
    return hf_generate(
        vlm,
        ids,
        num_beams,
        pixel_values=vlm.pixel_values([image]),
        token_type_ids=(ids == vlm.image_token_id).long(),
    )


class TestGemma3:
    def test_attributes(self, vlm):
        assert isinstance(vlm, Gemma3)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (16, (4, 4), 64)
        assert vlm.describe()["adapter"] == "gemma3"

    def test_prompt_layout(self, vlm):
        ids = vlm._prompt_ids(3, "a cat")
        toks = vlm.tokenizer.convert_ids_to_tokens(ids)
        assert toks[:2] == ["<bos>", "<start_of_turn>"]
        start = toks.index("<start_of_image>")
        assert toks[start + 1 : start + 5] == ["<image_soft_token>"] * 3 + ["<end_of_image>"]
        assert "".join(toks[-2:]) == "<start_of_turn>model\n"

    def test_encode_matches_get_image_features(self, vlm, images, tokens):
        with torch.no_grad():
            ref = vlm.model.get_image_features(pixel_values=vlm.pixel_values(images)).pooler_output
        torch.testing.assert_close(tokens, ref.float(), rtol=0, atol=0)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, images, tokens, num_beams
    ):
        check_reproduces_pixel_values_path(vlm, images, tokens, reference, num_beams)

    def test_image_attention_is_bidirectional(self, vlm, tokens):
        # without token_type_ids the image tokens attend causally: other captions
        ids = torch.tensor([vlm._prompt_ids(16, vlm.prompt)] * 3)
        kw = {"attention_mask": torch.ones_like(ids), "max_new_tokens": MAX_NEW, "do_sample": False}
        state = {"feats": torch.cat(list(tokens.double()))}

        def inject(module, args, kwargs):
            e = kwargs.get("inputs_embeds")
            if e is not None and e.shape[1] == ids.shape[1]:
                mask = (ids == vlm.image_token_id).unsqueeze(-1)
                kwargs["inputs_embeds"] = e.masked_scatter(mask, state["feats"])
            return args, kwargs

        h = vlm.model.model.language_model.register_forward_pre_hook(inject, with_kwargs=True)
        try:
            causal = vlm.model.generate(input_ids=ids, **kw)
        finally:
            h.remove()
        texts = vlm.tokenizer.batch_decode(causal[:, ids.shape[1] :], skip_special_tokens=True)
        assert [" ".join(t.split()) for t in texts] != vlm.generate(
            list(tokens), max_new_tokens=MAX_NEW
        )

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        check_replaced_tokens_change_the_output(vlm, tokens)

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 16, 5, 6
        check_batched_equals_single(vlm, seqs, num_beams)

    def test_vision_split_pools_on_the_server(self, tiny_gemma3_dir, vlm, images, tokens):
        vis = load_tiny("gemma3", tiny_gemma3_dir, split="vision")
        assert (vis.n_tokens, vis.grid, vis.dim) == (64, (8, 8), 32)
        raw = vis.encode(images)
        check_vision_split(vis, vlm, raw, tokens)
        with pytest.raises(ValueError, match="needs all of them"):
            vis.generate([raw[0][:10]])
