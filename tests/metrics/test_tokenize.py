import pytest

from collab_infer.metrics import tokenize, tokenize_caption


class TestTokenize:
    # expected values: pycocoevalcap's PTBTokenizer (CoreNLP 3.4.1 jar) on the same text
    @pytest.mark.parametrize(
        ("text", "tokens"),
        [
            ("A Red Circle.", ["a", "red", "circle"]),
            ("a dog's ball", ["a", "dog", "'s", "ball"]),
            ("it isn't; they're, we'll", ["it", "is", "n't", "they", "'re", "we", "'ll"]),
            ("i can't", ["i", "ca", "n't"]),
            ('a "quoted" (word)', ["a", "quoted", "-lrb-", "word", "-rrb-"]),
            ("black-and-white at 3.5 a.m.", ["black-and-white", "at", "3.5", "a.m."]),
            ("wait... what?! - ok -- yes", ["wait", "what", "?!", "ok", "yes"]),
            ("line\nbreak", ["line", "break"]),
            ("", []),
            ("a & b $5 50%", ["a", "&", "b", "$", "5", "50", "%"]),
            ("I cannot, gonna", ["i", "can", "not", "gon", "na"]),
            ("at 10:15 for 3/4 of 1,000", ["at", "10:15", "for", "3/4", "of", "1,000"]),
            ("vitamin c.", ["vitamin", "c."]),
        ],
    )
    def test_cases(self, text, tokens):
        assert tokenize(text) == tokens

    def test_caption_joins_with_single_spaces(self):
        assert tokenize_caption("  A   cat ,  sits. ") == "a cat sits"

    def test_rejects_non_str(self):
        with pytest.raises(TypeError, match="text must be a str"):
            tokenize(None)


class TestCorenlpErrors:
    def test_no_java_is_a_clear_error(self, monkeypatch):
        from collab_infer.errors import CollabInferError
        from collab_infer.metrics import corenlp

        monkeypatch.setattr(corenlp.shutil, "which", lambda name: None)
        with pytest.raises(CollabInferError, match="needs Java.*default-jre-headless"):
            corenlp.corenlp_tokenize(["a cat"])

    def test_missing_jar_path_is_a_clear_error(self, monkeypatch, tmp_path):
        from collab_infer.errors import CollabInferError
        from collab_infer.metrics import corenlp

        monkeypatch.setenv("COLLAB_INFER_CORENLP_JAR", str(tmp_path / "nope.jar"))
        with pytest.raises(CollabInferError, match="COLLAB_INFER_CORENLP_JAR"):
            corenlp.corenlp_jar()

    def test_rejects_a_single_string(self):
        from collab_infer.metrics.corenlp import corenlp_tokenize

        with pytest.raises(TypeError, match="list of captions"):
            corenlp_tokenize("a cat")


class TestTokenizeFile:
    # the jar on these lines as one file (checked with CoreNLP 3.4.1)
    def test_next_line_decides_a_final_one_letter_abbreviation(self):
        from collab_infer.metrics import tokenize_file

        assert tokenize_file(["x a.", "A dog"]) == ["x a", "a dog"]
        assert tokenize_file(["x a.", "a dog"]) == ["x a.", "a dog"]
        assert tokenize_file(["x a.", "The"]) == ["x a.", "the"]  # end of file after it
        assert tokenize_file(["x etc."]) == ["x etc."]

    def test_corpus_tokenises_refs_and_hyps_as_two_files(self):
        from collab_infer.metrics.bleu import tokenize_corpus

        hyps, refs = tokenize_corpus(["x a.", "A b"], [["r a.", "A r"], ["s"]])
        assert hyps == ["x a", "a b"]
        assert refs == [["r a", "a r"], ["s"]]

    def test_unknown_tokenizer(self):
        from collab_infer.metrics import score_all

        with pytest.raises(ValueError, match="tokenizer must be one of"):
            score_all(["a"], [["a"]], tokenizer="nltk")


class TestCorenlpInSweeps:
    def test_config_without_java_fails_early(self, monkeypatch):
        from collab_infer.errors import CollabInferError
        from collab_infer.metrics import corenlp
        from experiments.config import load_config

        cfg = {"name": "x", "schemes": [{"reducer": "full"}], "metrics": {"tokenizer": "corenlp"}}
        monkeypatch.setattr(corenlp.shutil, "which", lambda name: None)
        with pytest.raises(CollabInferError, match="metrics: .*needs Java"):
            load_config(cfg)
        monkeypatch.undo()
        assert load_config({**cfg, "metrics": {}}).metrics.tokenizer == "ptb"


class TestFastPath:
    def test_letters_then_a_last_word_equal_the_scanner(self):
        import random

        from collab_infer.metrics.ptb_lexer import _lex, ptb_tokens

        words = [
            "a",
            "A",
            "man",
            "woman",
            "The",
            "dog",
            "cannot",
            "gonna",
            "gotta",
            "lemme",
            "gimme",
            "wanna",
            "I",
            "mr",
            "st",
            "e",
            "x",
        ]
        last = ["surfboard.", "etc.", "a.", "U.S.", "Inc.", "(red)", "can't", "10:15", "x"]
        rng = random.Random(0)
        for _ in range(600):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
            if rng.random() < 0.6:
                text += " " + rng.choice(last)
            text = rng.choice(["", " ", "  "]) + text + rng.choice(["", " ", "  "])
            for after in ["\nqqsentinelqq\n", "", "\nA dog\n", "\n\nThe cat"]:
                assert ptb_tokens(text, after) == list(_lex(text, after)), (text, after)
