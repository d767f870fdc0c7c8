import pytest

from collab_infer.metrics import tokenize, tokenize_caption


class TestTokenize:
    @pytest.mark.parametrize(
        ("text", "tokens"),
        [
            ("A Red Circle.", ["a", "red", "circle"]),
            ("a dog's ball", ["a", "dog", "'s", "ball"]),
            ("it isn't; they're, we'll", ["it", "is", "n't", "they", "'re", "we", "'ll"]),
            ("i can't", ["i", "ca", "n't"]),
            ('a "quoted" (word)', ["a", "quoted", "word"]),
            ("black-and-white at 3.5 a.m.", ["black-and-white", "at", "3.5", "a.m."]),
            ("wait... what?! - ok -- yes", ["wait", "what", "ok", "yes"]),
            ("line\nbreak", ["line", "break"]),
            ("", []),
            ("a & b $5 50%", ["a", "&", "b", "$", "5", "50", "%"]),
        ],
    )
    def test_cases(self, text, tokens):
        assert tokenize(text) == tokens

    def test_caption_joins_with_single_spaces(self):
        assert tokenize_caption("  A   cat ,  sits. ") == "a cat sits"

    def test_rejects_non_str(self):
        with pytest.raises(TypeError, match="text must be a str"):
            tokenize(None)
