"""The SmolVLM (Idefics3) adapter on a tiny random checkpoint: images resized to 32 x 64 are
split into 1 x 2 tiles of 32 x 32 plus the global image, 16 tokens each after the pixel
shuffle (N = 48), SigLIP 32-d, Llama 64-d."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.smolvlm import SmolVLM

MAX_NEW = 6
SIZE = (32, 64)


@pytest.fixture(scope="module")
def vlm(tiny_smolvlm_dir):
    return load(f"smolvlm:{tiny_smolvlm_dir}", device="cpu", dtype=torch.float64, image_size=SIZE)


@pytest.fixture(scope="module")
def tokens(vlm, images):
    return vlm.encode(images)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + pixel_attention_mask -> generate."""
    pixels, mask = vlm.preprocess([image])
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens, vlm.prompt)])
    out = vlm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        pixel_values=pixels.to(vlm.dtype),
        pixel_attention_mask=mask,
        max_new_tokens=MAX_NEW,
        num_beams=num_beams,
        do_sample=False,
    )
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


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
        captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(vlm, im, num_beams) for im in images]
        assert len(set(captions)) >= 2

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]

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
        kw = {"max_new_tokens": MAX_NEW, "num_beams": num_beams}
        batched = vlm.generate(seqs, positions=positions, **kw)
        single = [
            vlm.generate([s], positions=[p], **kw)[0] for s, p in zip(seqs, positions, strict=True)
        ]
        assert batched == single
        assert len(set(batched)) >= 2

    def test_vision_split_applies_the_connector_on_the_server(
        self, tiny_smolvlm_dir, vlm, images, tokens
    ):
        vis = load(
            f"smolvlm:{tiny_smolvlm_dir}",
            device="cpu",
            dtype=torch.float64,
            split="vision",
            image_size=SIZE,
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 3 * 64, 32)
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
            list(tokens), max_new_tokens=MAX_NEW
        )

    def test_without_splitting_one_frame_on_a_grid(self, tiny_smolvlm_dir, images):
        one = load(f"smolvlm:{tiny_smolvlm_dir}", device="cpu", image_splitting=False)
        assert (one.n_tokens, one.grid) == (16, (4, 4))
        assert one.encode(images[:1]).shape == (1, 16, 64)
        with pytest.raises(ValueError, match="image_splitting must be True or False"):
            load(f"smolvlm:{tiny_smolvlm_dir}", image_splitting="no")
