"""The PaliGemma adapter on a tiny random checkpoint (SigLIP 32-d + Gemma 64-d, 16 tokens)."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.paligemma import PaliGemma
from tests.models.adapter_checks import MAX_NEW, check_batched_equals_single

# transformers' PaliGemmaProcessor builds its labels with np.array(copy=False) semantics
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def vlm(tiny_paligemma_dir):
    # float64 so that batched (padded) and single-sample runs cannot flip a greedy choice
    return load(f"paligemma:{tiny_paligemma_dir}", device="cpu", dtype=torch.float64)


@pytest.fixture(scope="module")
def processor(vlm, tiny_paligemma_dir):
    from transformers import AutoImageProcessor, PaliGemmaProcessor

    return PaliGemmaProcessor(
        image_processor=AutoImageProcessor.from_pretrained(tiny_paligemma_dir),
        tokenizer=vlm.tokenizer,
    )


def reference(vlm, processor, image, num_beams=1, token_type=0):
    """Caption from HF's plain path: processor -> model.generate(pixel_values=...)."""
    inputs = processor(images=[image], text=["<image>caption en"], return_tensors="pt")
    inputs.pop("labels", None)
    inputs["pixel_values"] = inputs["pixel_values"].to(vlm.dtype)
    inputs["token_type_ids"] = torch.full_like(inputs["input_ids"], token_type)
    out = vlm.model.generate(**inputs, max_new_tokens=MAX_NEW, num_beams=num_beams, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :]
    return " ".join(vlm.tokenizer.decode(new, skip_special_tokens=True).split())


class TestPaliGemma:
    def test_attributes(self, vlm):
        assert isinstance(vlm, PaliGemma)
        assert (vlm.n_tokens, vlm.grid, vlm.dim, vlm.split) == (16, (4, 4), 64, "projector")
        assert vlm.prompt == "caption en"
        d = vlm.describe()
        assert d["adapter"] == "paligemma" and d["n_tokens"] == 16 and d["dtype"] == "float64"

    def test_encode_shape_and_matches_get_image_features(self, vlm, images):
        tokens = vlm.encode(images)
        assert tokens.shape == (3, 16, 64) and tokens.dtype == torch.float32
        with torch.no_grad():
            ref = vlm.model.get_image_features(pixel_values=vlm.pixel_values(images)).pooler_output
        torch.testing.assert_close(tokens, ref.float(), rtol=0, atol=0)

    def test_prompt_ids_match_the_hf_processor(self, vlm, processor, images):
        inputs = processor(images=[images[0]], text=["<image>caption en"], return_tensors="pt")
        assert inputs["input_ids"][0].tolist() == vlm._prompt_ids(16, "caption en")

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_unmodified_tokens_reproduce_the_pixel_values_path(
        self, vlm, processor, images, num_beams
    ):
        captions = vlm.generate(
            list(vlm.encode(images)), max_new_tokens=MAX_NEW, num_beams=num_beams
        )
        expected = [reference(vlm, processor, im, num_beams) for im in images]
        assert captions == expected
        assert all(captions)

    def test_prefix_is_bidirectional(self, vlm, processor, images):
        # a causal prompt (token_type_ids = 1) gives other captions: the adapter keeps the
        # prefix-LM, which the previous test matched exactly
        ours = vlm.generate(list(vlm.encode(images)), max_new_tokens=MAX_NEW)
        causal = [reference(vlm, processor, im, token_type=1) for im in images]
        assert ours != causal

    def test_replaced_tokens_change_the_output(self, vlm, images):
        tokens = vlm.encode(images)
        base = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        zeros = vlm.generate([torch.zeros_like(t) for t in tokens], max_new_tokens=MAX_NEW)
        swapped = vlm.generate(list(tokens.roll(1, dims=0)), max_new_tokens=MAX_NEW)
        mean = vlm.generate(
            [t.mean(0, keepdim=True).expand_as(t) for t in tokens], max_new_tokens=MAX_NEW
        )
        assert zeros != base
        assert swapped == base[-1:] + base[:-1]  # the caption follows its tokens
        assert all(m != b for m, b in zip(mean, base, strict=True))

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_batched_equals_single_with_different_lengths(self, vlm, images, num_beams):
        tokens = vlm.encode(images)
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]  # N_i = 16, 5, 6
        check_batched_equals_single(vlm, seqs, num_beams)

    def test_batched_equals_single_same_length(self, vlm, images):
        tokens = vlm.encode(images)
        batched = vlm.generate(list(tokens), max_new_tokens=MAX_NEW)
        single = [vlm.generate([t], max_new_tokens=MAX_NEW)[0] for t in tokens]
        assert batched == single

    def test_prefill_runs_the_last_layer_mlp_on_the_last_position_only(self, vlm, images):
        # the optimisation of hf_vlm._last_position_only: [B, L, D] -> [B, 1, D] in the
        # last decoder layer during prefill; the captions above match HF's own path
        tokens = list(vlm.encode(images))
        layer = vlm.model.model.language_model.layers[-1]
        seen = []
        handle = layer.mlp.register_forward_hook(lambda m, a, o: seen.append(tuple(a[0].shape)))
        try:
            vlm.generate(tokens, max_new_tokens=2)
        finally:
            handle.remove()
        assert seen[0] == (3, 1, 64)  # prefill: the last prompt position only
        assert not layer.mlp._forward_pre_hooks and not layer.self_attn.o_proj._forward_pre_hooks

    @pytest.mark.parametrize("num_beams", [1, 2])
    def test_chunked_mlps_keep_the_captions(self, vlm, processor, images, monkeypatch, num_beams):
        # pieces of 5 positions (the real threshold is far above these tiny prompts)
        from collab_infer.models import prefill

        monkeypatch.setattr(prefill, "MLP_CHUNK_VALUES", 1)
        monkeypatch.setattr(prefill, "_MIN_CHUNK_POSITIONS", 5)
        pieces = []
        mlp = vlm.model.model.language_model.layers[0].mlp
        handle = mlp.down_proj.register_forward_hook(lambda m, a, o: pieces.append(a[0].shape))
        try:
            captions = vlm.generate(
                list(vlm.encode(images)), max_new_tokens=MAX_NEW, num_beams=num_beams
            )
        finally:
            handle.remove()
        assert max(p[-2] for p in pieces) == 5  # the prefill really ran in pieces
        assert captions == [reference(vlm, processor, im, num_beams) for im in images]
        assert "forward" not in vars(mlp)  # restored after generate

    def test_nan_error_names_the_sample(self, vlm):
        good, bad = torch.zeros(4, 64), torch.zeros(4, 64)
        bad[2, 3] = float("inf")
        with pytest.raises(ValueError, match=r"tokens\[1\] holds NaN or infinite"):
            vlm.generate([good, bad])

    def test_vision_split_applies_the_projector_on_the_server(
        self, tiny_paligemma_dir, vlm, images
    ):
        vis = load(
            f"paligemma:{tiny_paligemma_dir}", device="cpu", dtype=torch.float64, split="vision"
        )
        assert vis.dim == 32 and vis.n_tokens == 16
        raw = vis.encode(images)
        assert raw.shape == (3, 16, 32)
        torch.testing.assert_close(vis.project(raw), vlm.encode(images), rtol=1e-6, atol=1e-6)
        assert vis.generate(list(raw), max_new_tokens=MAX_NEW) == vlm.generate(
            list(vlm.encode(images)), max_new_tokens=MAX_NEW
        )

    def test_custom_prompt_is_used(self, vlm, images):
        tokens = list(vlm.encode(images[:1]))
        assert vlm.generate(tokens, "caption en", max_new_tokens=MAX_NEW) == vlm.generate(
            tokens, max_new_tokens=MAX_NEW
        )
        assert vlm.generate(tokens, "describe the image", max_new_tokens=MAX_NEW) != vlm.generate(
            tokens, max_new_tokens=MAX_NEW
        )

    def test_max_new_tokens_bounds_the_caption(self, vlm, images):
        tokens = list(vlm.encode(images[:1]))
        short = vlm.generate(tokens, max_new_tokens=2)[0]
        ids = vlm.tokenizer(short, add_special_tokens=False)["input_ids"]
        assert 1 <= len(ids) <= 3  # decoding may re-split a merged piece

    @pytest.mark.parametrize(
        "bad, exc, match",
        [
            (torch.zeros(1, 16, 64), TypeError, "list of"),
            ([], ValueError, "at least one"),
            ([torch.zeros(16, 32)], ValueError, r"shape \[N_i >= 1, 64\]"),
            ([torch.zeros(0, 64)], ValueError, "N_i >= 1"),
            ([torch.full((4, 64), float("nan"))], ValueError, "NaN"),
            (["tokens"], TypeError, "torch.Tensor"),
        ],
    )
    def test_bad_tokens(self, vlm, bad, exc, match):
        with pytest.raises(exc, match=match):
            vlm.generate(bad)

    def test_bad_generation_settings(self, vlm):
        t = [torch.zeros(4, 64)]
        with pytest.raises(ValueError, match="max_new_tokens"):
            vlm.generate(t, max_new_tokens=0)
        with pytest.raises(ValueError, match="num_beams"):
            vlm.generate(t, num_beams=0)
        with pytest.raises(ValueError, match="image token"):
            vlm.generate(t, prompt="<image> caption en")

    def test_bad_images(self, vlm):
        with pytest.raises(TypeError, match=r"images\[0\] must be a PIL"):
            vlm.encode([torch.zeros(3, 8, 8)])
        with pytest.raises(ValueError, match="at least one image"):
            vlm.encode([])
