"""The default captioner's word-level tokenizer, trained locally with ``tokenizers``.

Ids: ``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2, ``<unk>`` 3, ``<image>`` 4, ``"\\n"`` 5, then the
prompt words and the caption words of :mod:`collab_infer.datasets.shapes` (lower-cased,
whitespace-split). Decoding joins words with single spaces.
"""

from __future__ import annotations

__all__ = ["SPECIAL_TOKENS", "IMAGE_TOKEN", "PROMPT", "build_tokenizer", "vocabulary"]

SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>", "<unk>", "<image>")
IMAGE_TOKEN = "<image>"
#: the caption prompt (PaliGemma's)
PROMPT = "caption en"


def vocabulary() -> list[str]:
    """Every token in id order."""
    from collab_infer.datasets.shapes import WORDS

    words = [*SPECIAL_TOKENS, "\n", *PROMPT.split()]
    return words + [w for w in WORDS if w not in words]


def build_tokenizer():
    """A ``PreTrainedTokenizerFast`` with bos/eos/pad/unk set (word level, lower-cased).

    >>> tok = build_tokenizer()
    >>> tok.decode(tok("caption en\\na red circle", add_special_tokens=False).input_ids)
    'caption en \\n a red circle'
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
            pre_tokenizers.Split(Regex(" +"), behavior="removed"),
        ]
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        model_max_length=512,
        padding_side="right",
    )
