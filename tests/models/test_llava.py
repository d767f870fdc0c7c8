"""The LLaVA adapter on a tiny random checkpoint (CLIP 32-d + Llama 64-d, 16 tokens)."""

import pytest
import torch

from collab_infer.models import load
from collab_infer.models.llava import Llava
from tests.models.adapter_checks import (
    MAX_NEW,
    check_batched_equals_single,
    check_replaced_tokens_change_the_output,
    check_vision_split,
)


@pytest.fixture(scope="module")
def vlm(tiny_llava_dir):
    return load(str(tiny_llava_dir), device="cpu", dtype=torch.float64)  # adapter from config.json


@pytest.fixture(scope="module")
def processor(vlm, tiny_llava_dir):
    from transformers import AutoImageProcessor, LlavaProcessor

    return LlavaProcessor(
        image_processor=AutoImageProcessor.from_pretrained(tiny_llava_dir),
        tokenizer=vlm.tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )


def prompt_text(vlm):
    return f"USER: <image>\n{vlm.prompt} ASSISTANT:"


class TestLlava:
    def test_attributes(self, vlm):
        assert isinstance(vlm, Llava)
        assert (vlm.n_tokens, vlm.grid, vlm.dim) == (16, (4, 4), 64)
        assert vlm.describe()["adapter"] == "llava"

    def test_prompt_ids_match_the_hf_processor(self, vlm, processor, images):
        inputs = processor(images=[images[0]], text=[prompt_text(vlm)], return_tensors="pt")
        assert inputs["input_ids"][0].tolist() == vlm._prompt_ids(16, vlm.prompt)

    def test_unmodified_tokens_reproduce_the_pixel_values_path(self, vlm, processor, images):
        captions = vlm.generate(list(vlm.encode(images)), max_new_tokens=MAX_NEW)
        expected = []
        for im in images:
            inputs = processor(images=[im], text=[prompt_text(vlm)], return_tensors="pt")
            inputs["pixel_values"] = inputs["pixel_values"].to(vlm.dtype)
            out = vlm.model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False)
            new = out[0, inputs["input_ids"].shape[1] :]
            expected.append(" ".join(vlm.tokenizer.decode(new, skip_special_tokens=True).split()))
        assert captions == expected

    def test_replaced_tokens_change_the_output(self, vlm, images):
        check_replaced_tokens_change_the_output(vlm, vlm.encode(images))

    def test_batched_equals_single_with_different_lengths(self, vlm, images):
        tokens = vlm.encode(images)
        seqs = [tokens[0], tokens[1][:5], tokens[2][::3]]
        for num_beams in (1, 2):
            check_batched_equals_single(vlm, seqs, num_beams)

    def test_vision_split(self, tiny_llava_dir, vlm, images):
        vis = load(f"llava:{tiny_llava_dir}", device="cpu", dtype=torch.float64, split="vision")
        raw = vis.encode(images)
        assert raw.shape == (3, 16, 32)
        check_vision_split(vis, vlm, raw, vlm.encode(images))
