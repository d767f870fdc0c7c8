"""Training batches in the PaliGemma input format."""

import numpy as np
import torch

from collab_infer.datasets.shapes import render
from collab_infer.training.batches import CaptionLayout, make_batch, pixels_from_uint8
from collab_infer.training.tokenizer import build_tokenizer


def test_layout_and_labels():
    tok = build_tokenizer()
    layout = CaptionLayout.from_tokenizer(tok)
    sb = render("train", np.arange(6))
    b = make_batch(sb, layout, 64)
    caps = sb.captions()
    p = 64 + 1 + 3
    for i, cap in enumerate(caps):
        ids = b.input_ids[i].tolist()
        assert ids[:64] == [4] * 64 and ids[64] == tok.bos_token_id
        assert tok.decode(ids[65:p]) == "caption en \n"
        n = len(cap.split())
        assert tok.decode(ids[p : p + n]) == cap and ids[p + n] == tok.eos_token_id
        assert set(ids[p + n + 1 :]) <= {tok.pad_token_id}
        lab = b.labels[i].tolist()
        assert lab[:p] == [-100] * p and lab[p : p + n + 1] == ids[p : p + n + 1]
        assert set(lab[p + n + 1 :]) <= {-100}
        assert b.token_type_ids[i, :p].eq(0).all() and b.token_type_ids[i, p:].eq(1).all()
        assert (
            b.attention_mask[i, : p + n + 1].eq(1).all()
            and b.attention_mask[i, p + n + 1 :].eq(0).all()
        )
    assert b.captions == caps


def test_pixels_normalised():
    x = pixels_from_uint8(np.array([[[[0, 255, 128]]]], dtype=np.uint8))
    assert x.shape == (1, 3, 1, 1)
    torch.testing.assert_close(x.flatten(), torch.tensor([-1.0, 1.0, 128 / 255 * 2 - 1]))
