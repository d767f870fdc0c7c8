"""The LLaVA-OneVision adapter on a tiny random checkpoint: images resized to 40 x 64 take
the 2 x 2 pinpoint (4 crops of 32 + the base image, 16 tokens each), the stitched 8 x 8
grid is unpadded to 6 x 8 rows for the 40:64 aspect, N = 16 + 48 = 64 (+ 6 newlines that
the server adds); SigLIP 32-d, Qwen2 64-d."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.llava_onevision import LlavaOnevision

MAX_NEW = 6
SIZE = (40, 64)


@pytest.fixture(scope="module")
def vlm(tiny_llava_onevision_dir):
    return load(
        f"llava_onevision:{tiny_llava_onevision_dir}",
        device="cpu",
        dtype=torch.float64,
        image_size=SIZE,
    )


@pytest.fixture(scope="module")
def tokens(vlm, images):
    return vlm.encode(images)


def reference(vlm, image, num_beams=1):
    """HF's own path: pixel_values + image_sizes -> generate (newlines in the prompt too)."""
    pixels, sizes = vlm.pixel_values([image])
    ids = torch.tensor([vlm._prompt_ids(vlm.n_tokens + vlm.grid_shape[0], vlm.prompt)])
    out = vlm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        pixel_values=pixels,
        image_sizes=sizes,
        max_new_tokens=MAX_NEW,
        num_beams=num_beams,
        do_sample=False,
    )
    return " ".join(vlm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split())


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
        captions = vlm.generate(list(tokens), max_new_tokens=MAX_NEW, num_beams=num_beams)
        assert captions == [reference(vlm, im, num_beams) for im in images]
        assert len(set(captions)) >= 2

    def test_replaced_tokens_change_the_output(self, vlm, tokens):
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]

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
        kw = {"max_new_tokens": MAX_NEW, "num_beams": num_beams}
        batched = vlm.generate(seqs, positions=positions, **kw)
        single = [
            vlm.generate([s], positions=[p], **kw)[0] for s, p in zip(seqs, positions, strict=True)
        ]
        assert batched == single
        assert len(set(batched)) >= 2

    def test_vision_split_packs_on_the_server(self, tiny_llava_onevision_dir, vlm, images, tokens):
        vis = load(
            f"llava_onevision:{tiny_llava_onevision_dir}",
            device="cpu",
            dtype=torch.float64,
            split="vision",
            image_size=SIZE,
        )
        raw = vis.encode(images)
        assert raw.shape == (3, 5 * 16, 32)
        torch.testing.assert_close(vis.project(raw), tokens, rtol=1e-6, atol=1e-6)
        assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
            list(tokens), max_new_tokens=MAX_NEW
        )
        with pytest.raises(ValueError, match="needs all 80 tokens"):
            vis.generate([raw[0][:10]])
