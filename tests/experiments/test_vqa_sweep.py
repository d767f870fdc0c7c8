"""A VQA sweep end to end: prompts with the questions, VQA metrics per row, on the fake
VLM (exact answers) and on the built-in default model (a captioner, so its "answers"
score low: the point is that the whole path runs)."""

import json

import pytest
from PIL import Image

from experiments.config import expand_rows, load_config
from experiments.rows import ResultsStore
from experiments.runner import ImageSet, run_sweep

from .conftest import FakeVLM, make_samples

SCHEMES = [
    {"label": "full", "reducer": "full", "number_formats": ["fp32"]},
    {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [2]}},
]


class QuadrantVLM(FakeVLM):
    """Answers "what colour is the top left?" with the fake caption's first colour."""

    adapter = "paligemma"

    def __init__(self):
        super().__init__()
        self.prompts = []

    def generate(self, tokens, prompt=None, *, max_new_tokens=32, num_beams=1):
        self.prompts.append(prompt)
        caps = super().generate(tokens, prompt, max_new_tokens=max_new_tokens)
        return [c.split()[1] for c in caps]  # "a red blue ... picture" -> "red"


def _vqa_samples():
    from collab_infer.datasets.sample import Sample

    out = []
    for s in make_samples(3):
        top_left = s.references[0].split()[1]
        out.append(Sample(s.id, s.image, [top_left] * 10, question="What color is the top left?"))
    return out


class TestVqaRows:
    def test_prompts_carry_the_question_and_rows_score_vqa(self, tmp_path):
        cfg = load_config({"name": "v", "task": "vqa", "schemes": SCHEMES,
                           "metrics": {"n_boot": 20}})  # fmt: skip
        vlm = QuadrantVLM()
        run_sweep(cfg, tmp_path, model=vlm, images=ImageSet.from_samples(_vqa_samples()),
                  progress=False)  # fmt: skip
        assert set(vlm.prompts) == {"answer en What color is the top left?"}
        df = ResultsStore(tmp_path).table().set_index("scheme")
        assert (df["task"] == "vqa").all() and (df["primary_metric"] == "vqa_accuracy").all()
        assert df.loc["full", "vqa_accuracy"] == pytest.approx(1.0)
        assert df.loc["full", "exact_match"] == pytest.approx(1.0)
        for m in ("vqa_accuracy", "exact_match", "anls"):
            assert df[f"{m}_lo"].le(df[m]).all() and df[m].le(df[f"{m}_hi"]).all()
        assert "bleu4" not in df.columns

    def test_own_prompt_template_and_its_check(self):
        with pytest.raises(ValueError, match="no '\\{question\\}'"):
            load_config({"name": "v", "task": "vqa", "schemes": SCHEMES,
                         "generation": {"prompt": "answer en"}})  # fmt: skip
        cfg = load_config({"name": "v", "task": "vqa", "schemes": SCHEMES,
                           "generation": {"prompt": "Q: {question} A:"}})  # fmt: skip
        assert cfg.generation.prompt == "Q: {question} A:"

    def test_vqa_rows_never_share_hashes_with_caption_rows(self):
        base = {"name": "v", "schemes": SCHEMES}
        cap = expand_rows(load_config(base), 16, model_id="m", images_id="i")
        vqa = expand_rows(load_config({**base, "task": "vqa"}), 16, model_id="m", images_id="i")
        explicit = expand_rows(
            load_config({**base, "task": "caption"}), 16, model_id="m", images_id="i"
        )
        assert [r.row_hash for r in cap] == [r.row_hash for r in explicit]
        assert not {r.row_hash for r in cap} & {r.row_hash for r in vqa}

    def test_questions_enter_the_image_fingerprint(self):
        samples = _vqa_samples()
        a = ImageSet.from_samples(samples)
        from collab_infer.datasets.sample import Sample

        other = [Sample(s.id, s.image, s.references, question="Other?") for s in samples]
        assert a.fingerprint() != ImageSet.from_samples(other).fingerprint()
        caps = make_samples(3)
        assert ImageSet.from_samples(caps).questions == []


def test_vqa_sweep_with_the_default_model_on_a_folder(tmp_path):
    root = tmp_path / "vqa"
    root.mkdir()
    lines = []
    for i, (color, rgb) in enumerate([("red", (220, 30, 30))]):
        Image.new("RGB", (64, 64), rgb).save(root / f"im{i}.png")
        lines.append({"image": f"im{i}.png", "question": "What color is the image?",
                      "answers": [color] * 10})  # fmt: skip
        lines.append({"image": f"im{i}.png", "question": "How many shapes are there?",
                      "answers": ["0"] * 10})  # fmt: skip
    (root / "captions.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    cfg = load_config(
        {
            "name": "vqa_default",
            "task": "vqa",
            "dataset": {"name": "folder", "options": {"root": str(root)}},
            "generation": {"max_new_tokens": 6, "batch_size": 4},
            "schemes": [SCHEMES[0]],
            "metrics": {"n_boot": 20},
        }
    )
    summary = run_sweep(cfg, tmp_path / "out", progress=False)
    assert summary.rows_run == 1
    row = ResultsStore(tmp_path / "out").table().iloc[0]
    assert row["task"] == "vqa" and row["n_images"] == 2
    for m in ("vqa_accuracy", "exact_match", "anls"):
        assert 0.0 <= row[m] <= 1.0
    caps = ResultsStore(tmp_path / "out").captions()
    assert len(caps) == 2 and caps["caption"].map(lambda c: isinstance(c, str)).all()


def test_fig3_plot_of_vqa_rows_names_the_metric(tmp_path):
    from experiments import plots
    from experiments.report import figure_rows

    cfg = load_config({"name": "fig3_vqa", "task": "vqa", "schemes": SCHEMES,
                       "metrics": {"n_boot": 20}})  # fmt: skip
    s = run_sweep(cfg, tmp_path, model=QuadrantVLM(),
                  images=ImageSet.from_samples(_vqa_samples()), progress=False)  # fmt: skip
    df = figure_rows(ResultsStore(tmp_path).table(), s.rows)
    metric = df["primary_metric"].iloc[0]
    assert metric == "vqa_accuracy" and plots.METRIC_LABELS[metric] == "VQA accuracy"
    path = plots.plot_fig3(df, tmp_path / "fig3_vqa.png", metric=metric)
    assert path.stat().st_size > 0
