"""Our BLEU / CIDEr-D / ROUGE-L against pycocoevalcap's pure-Python scorers, fed the
same pre-tokenised strings (their PTBTokenizer needs Java, so it is not used)."""

import importlib.util
import pathlib

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from collab_infer.metrics import (
    bleu_stats,
    cider_d,
    cider_d_per_image,
    corpus_bleu,
    rouge_l,
    rouge_l_per_image,
    sacrebleu_bleu,
    score_all,
    tokenize_caption,
)

_spec = importlib.util.spec_from_file_location(
    "metric_fixtures", pathlib.Path(__file__).with_name("fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def _tokenised(hyps, refs):
    th = [tokenize_caption(h) for h in hyps]
    tr = [[tokenize_caption(r) for r in rs] for rs in refs]
    return th, tr


def _coco_dicts(th, tr):
    res = {i: [h] for i, h in enumerate(th)}
    gts = {i: rs for i, rs in enumerate(tr)}
    return gts, res


SUBSETS = [slice(0, 10), slice(0, 3), slice(3, 7), slice(1, 2), slice(4, 10)]


class TestAgainstPycocoevalcap:
    @pytest.mark.parametrize("sub", SUBSETS)
    def test_bleu(self, sub):
        th, tr = _tokenised(fixtures.HYPS[sub], fixtures.REFS[sub])
        ref_scores, _ = Bleu(4).compute_score(*_coco_dicts(th, tr), verbose=0)
        ours = corpus_bleu(th, tr, tokenize=False)
        np.testing.assert_allclose(
            [ours[f"bleu{n}"] for n in range(1, 5)], ref_scores, rtol=0, atol=1e-6
        )

    @pytest.mark.parametrize("sub", SUBSETS)
    def test_cider_d(self, sub):
        th, tr = _tokenised(fixtures.HYPS[sub], fixtures.REFS[sub])
        ref_score, ref_per_image = Cider().compute_score(*_coco_dicts(th, tr))
        assert cider_d(th, tr, tokenize=False) == pytest.approx(ref_score, abs=1e-6)
        np.testing.assert_allclose(
            cider_d_per_image(th, tr, tokenize=False), ref_per_image, rtol=0, atol=1e-6
        )

    @pytest.mark.parametrize("sub", SUBSETS)
    def test_rouge_l(self, sub):
        th, tr = _tokenised(fixtures.HYPS[sub], fixtures.REFS[sub])
        ref_score, ref_per_image = Rouge().compute_score(*_coco_dicts(th, tr))
        assert rouge_l(th, tr, tokenize=False) == pytest.approx(ref_score, abs=1e-6)
        np.testing.assert_allclose(
            rouge_l_per_image(th, tr, tokenize=False), ref_per_image, rtol=0, atol=1e-6
        )

    def test_score_all_tokenises_like_the_parts(self):
        th, tr = _tokenised(fixtures.HYPS, fixtures.REFS)
        got = score_all(fixtures.HYPS, fixtures.REFS)
        bleu, _ = Bleu(4).compute_score(*_coco_dicts(th, tr), verbose=0)
        cider, _ = Cider().compute_score(*_coco_dicts(th, tr))
        rouge, _ = Rouge().compute_score(*_coco_dicts(th, tr))
        assert got["bleu4"] == pytest.approx(bleu[3], abs=1e-6)
        assert got["cider_d"] == pytest.approx(cider, abs=1e-6)
        assert got["rouge_l"] == pytest.approx(rouge, abs=1e-6)


class TestBleu:
    def test_perfect_match_is_one(self):
        hyp = ["a red circle on a white background"]
        assert corpus_bleu(hyp, [hyp])["bleu4"] == pytest.approx(1.0, abs=1e-6)

    def test_closest_reference_length_ties_pick_shorter(self):
        # hyp of 4 words; refs of 3 and 5 words: tie -> 3 (no brevity penalty)
        stats = bleu_stats(["a b c d"], [["a b c", "a b c d e"]])
        assert stats[0, 1] == 3

    def test_brevity_penalty_applies(self):
        short = corpus_bleu(["a red"], [["a red circle on white"]])["bleu1"]
        assert short == pytest.approx(np.exp(1 - 5 / 2), abs=1e-6)

    def test_empty_hypothesis_scores_zero(self):
        assert corpus_bleu([""], [["a red circle"]])["bleu1"] == pytest.approx(0.0, abs=1e-9)

    def test_clipping(self):
        # "the the the" vs "the cat": 1 clipped match out of 3
        got = corpus_bleu(["the the the"], [["the cat sat"]], tokenize=False)["bleu1"]
        assert got == pytest.approx(1 / 3, abs=1e-6)

    @pytest.mark.parametrize(
        ("hyps", "refs", "match"),
        [
            (["a"], [["a"], ["b"]], "same length"),
            ([], [], "at least one"),
            (["a"], [[]], r"refs\[0\]"),
            ("a cat", [["a cat"]], "single str"),
            ([3], [["a"]], r"hyps\[0\]"),
        ],
    )
    def test_bad_input(self, hyps, refs, match):
        with pytest.raises((ValueError, TypeError), match=match):
            corpus_bleu(hyps, refs)


class TestSacrebleu:
    def test_matches_sacrebleu_directly_and_handles_ragged_refs(self):
        import sacrebleu

        hyps = ["a red circle on white", "two squares"]
        refs = [["a red circle on white", "a circle"], ["two blue squares"]]
        direct = (
            sacrebleu.corpus_bleu(
                hyps, [["a red circle on white", "two blue squares"], ["a circle", None]]
            ).score
            / 100
        )
        assert sacrebleu_bleu(hyps, refs) == pytest.approx(direct, abs=1e-9)
        assert 0 < direct < 1
