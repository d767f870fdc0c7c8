"""VQA metrics against values worked out by hand from the official vqaEval.py logic."""

import numpy as np
import pytest

from collab_infer.metrics.vqa import (
    anls,
    anls_per_question,
    exact_match,
    normalize_answer,
    process_punctuation,
    score_vqa,
    vqa_accuracy,
    vqa_accuracy_per_question,
)


class TestNormalisation:
    @pytest.mark.parametrize(
        ("raw", "norm"),
        [
            ("Yes", "yes"),
            ("yes.", "yes"),
            ("Two", "2"),
            ("none", "0"),
            ("a dog", "dog"),
            ("The Red Car", "red car"),
            ("dont", "don't"),
            ("hot-dog", "hot dog"),  # a mark not touching a space becomes a space
            ("hot - dog", "hot dog"),  # touching a space: deleted
            ("3,000", "3000"),  # digit,digit: every mark deleted
            ("1.5", "1.5"),  # a period before a digit stays
            ("  tab\there\n", "tab here"),
            ("what?!", "what"),
            ("i'm", "i'm"),
        ],
    )
    def test_official_rules(self, raw, norm):
        assert normalize_answer(raw) == norm

    def test_punctuation_alone_keeps_case_and_articles(self):
        # "(" and ")" touch a space: deleted; "!" does not: a space
        assert process_punctuation("The (big) dog!") == "The big dog "


class TestVqaAccuracy:
    @pytest.mark.parametrize(
        ("n_match", "acc"),
        # leave-one-out over 10 humans: mean_j min(1, (n - [j matches]) / 3)
        [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)],
    )
    def test_leave_one_out_values(self, n_match, acc):
        answers = ["cat"] * n_match + ["dog"] * (10 - n_match)
        assert vqa_accuracy(["cat"], [answers]) == pytest.approx(acc, abs=1e-12)

    def test_prediction_is_normalised(self):
        assert vqa_accuracy(["Two."], [["2"] * 10]) == pytest.approx(1.0)
        assert vqa_accuracy(["the cat"], [["cat"] * 10]) == pytest.approx(1.0)

    def test_unanimous_answers_are_not_normalised(self):
        # the official script normalises human answers only when they disagree
        assert vqa_accuracy(["two"], [["two"] * 10]) == 0.0
        assert vqa_accuracy(["two"], [["two"] * 9 + ["Two!"]]) == pytest.approx(0.0)
        assert vqa_accuracy(["cat"], [["cat."] * 5 + ["dog"] * 5]) == pytest.approx(1.0)
        # and then with punctuation only: "cat!" -> "cat " (a space), no match
        assert vqa_accuracy(["cat"], [["cat!"] * 5 + ["dog"] * 5]) == 0.0

    def test_any_number_of_answers(self):
        assert vqa_accuracy(["cat"], [["cat"]]) == 0.0  # no other human to agree
        got = vqa_accuracy_per_question(["x", "y"], [["x"] * 4, ["y", "z"]])
        np.testing.assert_allclose(got, [1.0, (0 / 3 + 1 / 3) / 2])
        assert vqa_accuracy(["a"], [["a"] * 10]) == 0.0  # "a" is an article: normalised away

    @pytest.mark.parametrize(
        ("preds", "answers", "match"),
        [
            ("cat", [["cat"]], "single str"),
            (["cat"], [["cat"], ["dog"]], "pair up"),
            (["cat"], [[]], r"answers\[0\]"),
            ([3], [["cat"]], r"preds\[0\]"),
            ([], [], "at least one"),
        ],
    )
    def test_bad_input(self, preds, answers, match):
        with pytest.raises((TypeError, ValueError), match=match):
            vqa_accuracy(preds, answers)


class TestExactMatchAndAnls:
    def test_exact_match_after_normalisation(self):
        assert exact_match(["Yes", "a red car", "no"], [["yes"], ["red car"], ["yes"]]) == (
            pytest.approx(2 / 3)
        )

    def test_anls_values(self):
        # "cat" vs "cats": distance 1 / 4 -> 0.75; "kitten" vs "cat": 6/6 >= 0.5 -> 0
        got = anls_per_question(["cat", "kitten", " The  Cat "], [["cats"], ["cat"], ["the cat"]])
        np.testing.assert_allclose(got, [0.75, 0.0, 1.0])
        assert anls(["abcd"], [["abce", "xyz"]]) == pytest.approx(0.75)

    def test_anls_threshold(self):
        # distance 2 / 4 = 0.5 is not below the 0.5 threshold
        assert anls_per_question(["abcd"], [["abxy"]])[0] == 0.0
        with pytest.raises(ValueError, match="threshold"):
            anls_per_question(["a"], [["a"]], threshold=0)


class TestScoreVqa:
    def test_means_and_seeded_intervals(self):
        preds = ["cat", "dog", "2", "red"] * 5
        answers = [["cat"] * 10, ["cat"] * 10, ["two", "2", "2", "2"], ["red"] * 3] * 5
        s1, ci1 = score_vqa(preds, answers, n_boot=200, seed=3)
        s2, ci2 = score_vqa(preds, answers, n_boot=200, seed=3)
        assert (s1, ci1) == (s2, ci2)
        assert set(s1) == {"vqa_accuracy", "exact_match", "anls"}
        assert s1["exact_match"] == pytest.approx(0.75)
        for name, (lo, hi) in ci1.items():
            assert lo <= s1[name] <= hi

    def test_bad_bootstrap_settings(self):
        with pytest.raises(ValueError, match="n_boot"):
            score_vqa(["a"], [["a"]], n_boot=5)
