"""The VQA datasets read from tiny files in the official formats."""

import json

import pytest
from PIL import Image

from collab_infer.datasets import check, load
from collab_infer.errors import CollabInferError


def _img(path, color=(200, 30, 30)):
    Image.new("RGB", (8, 8), color).save(path)


@pytest.fixture
def vqav2_files(tmp_path):
    root = tmp_path / "val2014"
    root.mkdir()
    _img(root / "COCO_val2014_000000000042.jpg")
    _img(root / "000000000007.jpg", (0, 0, 255))
    qs = {
        "questions": [
            {"image_id": 42, "question": "What color is it?", "question_id": 42000},
            {"image_id": 42, "question": "Is it red?", "question_id": 42001},
            {"image_id": 7, "question": "What color?", "question_id": 7000},
        ]
    }

    def ans(qid, answers):
        return {
            "question_id": qid,
            "answers": [{"answer": x, "answer_id": i + 1} for i, x in enumerate(answers)],
        }

    anns = {
        "annotations": [
            ans(42000, ["red"] * 9 + ["pink"]),
            ans(42001, ["yes"] * 10),
            ans(7000, ["blue"] * 10),
        ]
    }
    (tmp_path / "q.json").write_text(json.dumps(qs))
    (tmp_path / "a.json").write_text(json.dumps(anns))
    return {"questions": str(tmp_path / "q.json"), "annotations": str(tmp_path / "a.json"),
            "image_root": str(root)}  # fmt: skip


class TestVQAv2:
    def test_questions_answers_images(self, vqav2_files):
        ds = load("vqav2", **vqav2_files)
        assert len(ds) == 3
        s = ds[0]
        assert (s.id, s.question, len(s.references)) == ("42000", "What color is it?", 10)
        assert s.image.size == (8, 8)
        assert ds[2].image.getpixel((0, 0))[2] > 200  # the blue one: 12-digit name, no prefix

    def test_subset_is_deterministic(self, vqav2_files):
        a = [s.id for s in load("vqav2", n=2, seed=1, **vqav2_files)]
        assert a == [s.id for s in load("vqav2", n=2, seed=1, **vqav2_files)]

    def test_missing_answers_and_images(self, vqav2_files, tmp_path):
        (tmp_path / "a.json").write_text(json.dumps({"annotations": []}))
        with pytest.raises(CollabInferError, match="no answers for question 42000"):
            load("vqav2", **vqav2_files)
        (tmp_path / "a.json").write_text(json.dumps({"nope": 1}))
        with pytest.raises(CollabInferError, match="not in the VQA v2 format"):
            load("vqav2", **vqav2_files)

    def test_dry_check_names_the_option(self, vqav2_files):
        opts = dict(vqav2_files, questions="/no/such.json")
        with pytest.raises(CollabInferError, match="questions file /no/such.json does not exist"):
            check("vqav2", **opts)
        with pytest.raises(CollabInferError, match="vqav2 needs questions="):
            check("vqav2", annotations=vqav2_files["annotations"])


class TestGQAAndTextVQA:
    def test_gqa(self, tmp_path):
        _img(tmp_path / "n1.jpg")
        qs = {"q1": {"imageId": "n1", "question": "Is it red?", "answer": "yes"}}
        (tmp_path / "q.json").write_text(json.dumps(qs))
        ds = load("gqa", questions=str(tmp_path / "q.json"), image_root=str(tmp_path))
        assert (ds[0].id, ds[0].question, ds[0].references) == ("q1", "Is it red?", ["yes"])
        (tmp_path / "q.json").write_text(json.dumps({"q1": {"imageId": "n2", "question": "?",
                                                          "answer": "no"}}))  # fmt: skip
        with pytest.raises(CollabInferError, match="n2.jpg does not exist"):
            load("gqa", questions=str(tmp_path / "q.json"), image_root=str(tmp_path))

    def test_textvqa(self, tmp_path):
        _img(tmp_path / "abc.jpg")
        data = {"data": [{"question_id": 5, "image_id": "abc", "question": "What brand?",
                          "answers": ["nokia"] * 10}]}  # fmt: skip
        (tmp_path / "t.json").write_text(json.dumps(data))
        ds = load("textvqa", annotations=str(tmp_path / "t.json"), image_root=str(tmp_path))
        assert (ds[0].id, ds[0].question, ds[0].references[0]) == ("5", "What brand?", "nokia")


class TestFolderQuestions:
    def _folder(self, tmp_path, lines):
        _img(tmp_path / "a.png")
        _img(tmp_path / "b.png", (0, 255, 0))
        (tmp_path / "captions.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
        return str(tmp_path)

    def test_questions_with_default_ids(self, tmp_path):
        root = self._folder(
            tmp_path,
            [
                {"image": "a.png", "question": "What color?", "answers": ["red", "red"]},
                {"image": "a.png", "question": "Is it a square?", "answer": "yes"},
                {"image": "b.png", "question": "What color?", "answers": ["green"]},
            ],
        )
        ds = load("folder", root=root)
        assert [s.id for s in ds] == ["a.png#0", "a.png#1", "b.png#0"]
        assert [s.question for s in ds] == ["What color?", "Is it a square?", "What color?"]
        assert ds[1].references == ["yes"]

    def test_captions_still_have_no_question(self, tmp_path):
        root = self._folder(tmp_path, [{"image": "a.png", "captions": ["a red square"]}])
        assert load("folder", root=root)[0].question is None

    @pytest.mark.parametrize(
        ("lines", "match"),
        [
            ([{"image": "a.png", "question": "?", "answers": []}], "'answers' must be a non-empty"),
            ([{"image": "a.png", "question": "", "answers": ["x"]}], "'question' must be"),
            (
                [
                    {"image": "a.png", "captions": ["a"]},
                    {"image": "b.png", "question": "q?", "answers": ["x"]},
                ],
                "mixes caption entries and question entries",
            ),
        ],
    )
    def test_bad_entries(self, tmp_path, lines, match):
        root = self._folder(tmp_path, lines)
        with pytest.raises(CollabInferError, match=match):
            load("folder", root=root)
