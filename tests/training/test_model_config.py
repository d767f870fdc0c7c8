"""Architecture of the default captioner and the transformers 5.x behaviour it relies on."""

import numpy as np
import pytest
import torch

from collab_infer.datasets.shapes import render
from collab_infer.training.batches import CaptionLayout, make_batch
from collab_infer.training.greedy import caption_uint8
from collab_infer.training.model_config import DEFAULT_ARCH, ArchSpec, build_config, build_model
from collab_infer.training.tokenizer import build_tokenizer


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


class TestArch:
    def test_default_has_64_tokens(self):
        assert DEFAULT_ARCH.n_tokens == 64
        cfg = build_config()
        assert cfg.text_config.num_image_tokens == 64
        assert cfg.image_token_index == 4 and cfg.text_config.vocab_size == 24

    def test_bad_patch_size(self):
        with pytest.raises(ValueError, match="multiple of patch_size"):
            ArchSpec(image_size=64, patch_size=10)

    def test_init_is_seeded_and_leaves_global_rng_alone(self, tiny_arch):
        state = torch.random.get_rng_state()
        a, b, c = (
            build_model(tiny_arch, seed=1),
            build_model(tiny_arch, seed=1),
            build_model(tiny_arch, seed=2),
        )
        assert torch.equal(torch.random.get_rng_state(), state)
        pa, pb, pc = (next(m.model.vision_tower.parameters()) for m in (a, b, c))
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)


class TestTransformersBehaviour:
    def test_gemma_scales_text_embeddings_by_sqrt_hidden_not_image_tokens(self, tiny_arch, tok):
        m = build_model(tiny_arch).eval()
        emb = m.model.language_model.embed_tokens
        ids = torch.tensor([[8, 9]])
        torch.testing.assert_close(emb(ids), emb.weight[ids] * tiny_arch.text_hidden**0.5)
        # image features enter the decoder unscaled (transformers 5.x: the scale lives in the
        # embedding module, and image features are scattered in after it)
        b = make_batch(
            render("test", [0], size=32), CaptionLayout.from_tokenizer(tok), tiny_arch.n_tokens
        )
        seen = {}

        def grab(_mod, args, kwargs):
            seen.setdefault("x", kwargs.get("hidden_states", args[0] if args else None))

        h = m.model.language_model.layers[0].register_forward_pre_hook(grab, with_kwargs=True)
        with torch.no_grad():
            m(input_ids=b.input_ids, pixel_values=b.pixel_values, token_type_ids=b.token_type_ids)
            feats = m.model.get_image_features(pixel_values=b.pixel_values).pooler_output
        h.remove()
        torch.testing.assert_close(seen["x"][:, : tiny_arch.n_tokens], feats)

    def test_prefix_is_bidirectional_and_suffix_causal(self, tiny_arch, tok):
        m = build_model(tiny_arch).eval()
        layout = CaptionLayout.from_tokenizer(tok)
        b = make_batch(render("test", [0, 1], size=32), layout, tiny_arch.n_tokens)
        kw = {
            "pixel_values": b.pixel_values,
            "attention_mask": b.attention_mask,
            "token_type_ids": b.token_type_ids,
        }
        p = tiny_arch.n_tokens + 1 + len(layout.prompt_ids)  # prefix length
        with torch.no_grad():
            ref = m(input_ids=b.input_ids, **kw).logits
            later = b.input_ids.clone()
            later[:, p + 2] = 10  # change a caption token
            out = m(input_ids=later, **kw).logits
            assert torch.equal(out[:, : p + 2], ref[:, : p + 2])  # causal in the suffix
            assert not torch.allclose(out[:, p + 2 :], ref[:, p + 2 :])
            prompt = b.input_ids.clone()
            prompt[:, p - 2] = 9  # change a prompt token: image positions see it (prefix-LM)
            out = m(input_ids=prompt, **kw).logits
            assert not torch.allclose(out[:, : tiny_arch.n_tokens], ref[:, : tiny_arch.n_tokens])

    def test_generate_with_pixel_values_and_projector_hook(self, tiny_arch, tok):
        torch.manual_seed(0)
        m = build_model(tiny_arch, seed=3).eval()
        with torch.no_grad():  # make the decoder depend strongly on the image tokens
            m.model.multi_modal_projector.linear.weight.mul_(50)
            # zero logits for special/prompt tokens (tied head): a random model then emits words
            m.model.language_model.embed_tokens.weight[:8] = 0
        layout = CaptionLayout.from_tokenizer(tok)
        images = render("test", np.arange(6), size=32).images
        plain = caption_uint8(m, tok, layout, images, max_new_tokens=6)
        again = caption_uint8(m, tok, layout, images, max_new_tokens=6, batch_size=4)
        assert plain == again and len(plain) == 6 and all(isinstance(c, str) for c in plain)
        calls = []

        def zero(out, sl):
            calls.append(sl)
            return torch.zeros_like(out)

        zeroed = caption_uint8(m, tok, layout, images, max_new_tokens=6, image_hook=zero)
        assert calls and zeroed != plain
        assert len(set(zeroed)) == 1  # identical (zero) image tokens -> identical captions
