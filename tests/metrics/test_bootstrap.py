import importlib.util
import pathlib

import numpy as np
import pytest

from collab_infer.metrics import bootstrap_ci, score_all, score_with_ci

_spec = importlib.util.spec_from_file_location(
    "metric_fixtures", pathlib.Path(__file__).with_name("fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


class TestBootstrap:
    def test_seeded_and_brackets_point_estimate(self):
        a = bootstrap_ci(fixtures.HYPS, fixtures.REFS, n_boot=200, seed=3)
        b = bootstrap_ci(fixtures.HYPS, fixtures.REFS, n_boot=200, seed=3)
        assert a == b
        point = score_all(fixtures.HYPS, fixtures.REFS)
        for name in ("bleu1", "bleu4", "cider_d", "rouge_l"):
            lo, hi = a[name]
            assert lo <= point[name] <= hi, name
            assert lo < hi, name

    def test_score_with_ci_is_score_all_and_bootstrap_ci(self):
        scores, ci = score_with_ci(fixtures.HYPS, fixtures.REFS, n_boot=200, alpha=0.1, seed=3)
        assert scores == score_all(fixtures.HYPS, fixtures.REFS)
        assert ci == bootstrap_ci(fixtures.HYPS, fixtures.REFS, n_boot=200, alpha=0.1, seed=3)

    def test_other_seed_differs(self):
        a = bootstrap_ci(fixtures.HYPS, fixtures.REFS, n_boot=50, seed=0)
        b = bootstrap_ci(fixtures.HYPS, fixtures.REFS, n_boot=50, seed=1)
        assert a != b

    def test_identical_captions_give_degenerate_interval(self):
        hyps = ["a red circle on white"] * 4
        refs = [["a red circle on white"]] * 4
        ci = bootstrap_ci(hyps, refs, n_boot=20)
        assert ci["bleu4"][0] == pytest.approx(1.0, abs=1e-6)
        assert ci["rouge_l"] == (1.0, 1.0)

    def test_matches_explicit_resampling(self):
        # the vectorised statistics path equals scoring each resampled corpus directly
        hyps, refs = fixtures.HYPS, fixtures.REFS
        n_boot, seed = 25, 7
        ci = bootstrap_ci(hyps, refs, n_boot=n_boot, alpha=0.2, seed=seed)
        idx = np.random.default_rng(seed).integers(0, len(hyps), size=(n_boot, len(hyps)))
        b4, rl = [], []
        for row in idx:
            s = score_all([hyps[i] for i in row], [refs[i] for i in row])
            b4.append(s["bleu4"])
            rl.append(s["rouge_l"])
        np.testing.assert_allclose(ci["bleu4"], np.percentile(b4, [10, 90]), atol=1e-9)
        np.testing.assert_allclose(ci["rouge_l"], np.percentile(rl, [10, 90]), atol=1e-9)

    @pytest.mark.parametrize(
        ("kw", "match"), [({"n_boot": 2}, "n_boot"), ({"alpha": 1.5}, "alpha")]
    )
    def test_bad_arguments(self, kw, match):
        with pytest.raises(ValueError, match=match):
            bootstrap_ci(["a"], [["a"]], **kw)


class TestPairedDiff:
    def test_point_is_difference_of_corpus_scores(self):
        from collab_infer.metrics import corpus_bleu, paired_bootstrap_diff, rouge_l

        a, b, refs = fixtures.HYPS, [r[0] for r in fixtures.REFS], fixtures.REFS
        d, lo, hi = paired_bootstrap_diff(b, a, refs, n_boot=200, seed=1)
        assert d == pytest.approx(corpus_bleu(b, refs)["bleu4"] - corpus_bleu(a, refs)["bleu4"])
        assert lo <= d <= hi and lo > 0  # references beat the fixture hypotheses
        d, lo, hi = paired_bootstrap_diff(b, a, refs, metric="rouge_l", n_boot=200)
        assert d == pytest.approx(rouge_l(b, refs) - rouge_l(a, refs))

    def test_identical_systems_have_zero_interval(self):
        from collab_infer.metrics import paired_bootstrap_diff

        assert paired_bootstrap_diff(fixtures.HYPS, fixtures.HYPS, fixtures.REFS, n_boot=50) == (
            0.0,
            0.0,
            0.0,
        )

    @pytest.mark.parametrize(
        ("kw", "match"), [({"metric": "meteor"}, "metric must be"), ({"n_boot": 1}, "n_boot")]
    )
    def test_bad_arguments(self, kw, match):
        from collab_infer.metrics import paired_bootstrap_diff

        with pytest.raises(ValueError, match=match):
            paired_bootstrap_diff(["a"], ["a"], [["a"]], **kw)

    def test_unpaired_refused(self):
        from collab_infer.metrics import paired_bootstrap_diff

        with pytest.raises(ValueError, match="must pair up"):
            paired_bootstrap_diff(["a", "b"], ["a"], [["a"], ["b"]])
