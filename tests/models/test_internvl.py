"""The InternVL adapter on a tiny random checkpoint: images resized to 32 x 64 are cut into
2 tiles of 32 x 32 plus a thumbnail, 16 tokens each after the pixel shuffle (N = 48),
InternViT 32-d, Qwen2 64-d."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.internvl import InternVL

MAX_NEW = 6
SIZE = (32, 64)


@pytest.fixture(scope="module")
def vlm(tiny_internvl_dir):
    return load(f"internvl:{tiny_internvl_dir}", device="cpu", dtype=torch.float64, image_size=SIZE)


@pytest.fixture(scope="module")
def tokens(vlm, images):
    return vlm.encode(images)


def reference(vlm, image, num_beams=1):
    """HF's own path: the tiles' pixel_values -> generate."""
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens, vlm.prompt)])
    out = vlm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        pixel_values=vlm.pixel_values([image]),
        max_new_tokens=MAX_NEW,
        num_beams=num_beams,
        do_sample=False,
    )
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


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
        captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(vlm, im, num_beams) for im in images]
        assert len(set(captions)) >= 2

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, tokens, num_beams):
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 48, 5, 16
        kw = {"max_new_tokens": MAX_NEW, "num_beams": num_beams}
        batched = vlm.generate(seqs, **kw)
        assert batched == [vlm.generate([s], **kw)[0] for s in seqs]
        assert len(set(batched)) >= 2

    def test_vision_split_applies_the_projector_on_the_server(
        self, tiny_internvl_dir, vlm, images, tokens
    ):
        vis = load(
            f"internvl:{tiny_internvl_dir}",
            device="cpu",
            dtype=torch.float64,
            split="vision",
            image_size=SIZE,
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 48, 4 * 32)
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        subset = [raw[0][::2], raw[1]]  # per-token projector: any subset works
        assert vis.generate(subset, max_new_tokens=MAX_NEW) == vlm.generate(
            [tokens[0][::2], tokens[1]], max_new_tokens=MAX_NEW
        )
