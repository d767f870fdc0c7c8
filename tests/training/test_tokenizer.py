"""The default captioner's word-level tokenizer."""

import numpy as np
from transformers import PreTrainedTokenizerFast

from collab_infer.datasets.shapes import WORDS, render
from collab_infer.training.tokenizer import PROMPT, SPECIAL_TOKENS, build_tokenizer, vocabulary


class TestTokenizer:
    def test_ids_of_special_tokens(self):
        tok = build_tokenizer()
        assert [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
        assert (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, tok.unk_token_id) == (
            0,
            1,
            2,
            3,
        )
        assert tok.convert_tokens_to_ids("\n") == 5
        assert len(tok) == len(vocabulary()) == len(SPECIAL_TOKENS) + 3 + len(WORDS)

    def test_caption_round_trip(self):
        tok = build_tokenizer()
        for cap in render("train", np.arange(100)).captions():
            ids = tok(cap, add_special_tokens=False).input_ids
            assert len(ids) == len(cap.split()) and tok.unk_token_id not in ids
            assert tok.decode(ids) == cap

    def test_prompt_newline_is_one_token(self):
        tok = build_tokenizer()
        ids = tok(PROMPT + "\n", add_special_tokens=False).input_ids
        assert tok.convert_ids_to_tokens(ids) == ["caption", "en", "\n"]
        assert tok("Caption EN", add_special_tokens=False).input_ids == ids[:2]  # lower-cased
        assert tok("a zebra", add_special_tokens=False).input_ids[1] == tok.unk_token_id

    def test_skip_special_tokens(self):
        tok = build_tokenizer()
        ids = [2, *tok("a red circle", add_special_tokens=False).input_ids, 1, 0, 0]
        assert tok.decode(ids, skip_special_tokens=True) == "a red circle"

    def test_save_and_from_pretrained(self, tmp_path):
        build_tokenizer().save_pretrained(tmp_path)
        tok = PreTrainedTokenizerFast.from_pretrained(tmp_path)
        assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<bos>", "<eos>", "<pad>")
        assert tok("a small blue cross", add_special_tokens=False).input_ids == (
            build_tokenizer()("a small blue cross", add_special_tokens=False).input_ids
        )
