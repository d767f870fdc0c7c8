"""The shipped default captioner: format, size, and that it really captions ``shapes``."""

import json
from pathlib import Path

import numpy as np
import pytest

from collab_infer.datasets.shapes import render
from collab_infer.metrics import corpus_bleu
from collab_infer.training.batches import CaptionLayout
from collab_infer.training.checkpoint import load_checkpoint
from collab_infer.training.evaluate import kmeans_replace
from collab_infer.training.greedy import caption_uint8

DIR = Path(__file__).resolve().parents[2] / "collab_infer" / "models" / "default_model"


@pytest.fixture(scope="module")
def loaded():
    return load_checkpoint(DIR)


def test_files_and_size():
    for f in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "meta.json",
    ):
        assert (DIR / f).is_file(), f
    assert (DIR / "model.safetensors").stat().st_size <= 20 * 2**20
    pre = json.loads((DIR / "preprocessor_config.json").read_text())
    assert pre["image_size"] == 64 and pre["rescale_factor"] == pytest.approx(1 / 255)


def test_config_and_tokenizer(loaded):
    model, tok = loaded
    assert model.config.text_config.num_image_tokens == 64
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (2, 1, 0)


def test_captions_test_images_and_kmeans_k1_hurts(loaded):
    model, tok = loaded
    meta = json.loads((DIR / "meta.json").read_text())
    full_500 = next(
        r["bleu4"]
        for r in meta["quality"]["rows"]
        if r["split"] == "test" and r["method"] == "full"
    )
    layout = CaptionLayout.from_tokenizer(tok)
    b = render("test", np.arange(60))
    refs = [[c] for c in b.captions()]
    full = corpus_bleu(caption_uint8(model, tok, layout, b.images), refs)["bleu4"]
    assert full == pytest.approx(full_500, abs=0.12)  # 60 of the 500 images of the meta score

    def k1(out, sl):
        return kmeans_replace(out, 1, seed=0)

    one = corpus_bleu(caption_uint8(model, tok, layout, b.images, image_hook=k1), refs)["bleu4"]
    assert one < 0.5 * full
