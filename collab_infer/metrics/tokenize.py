"""COCO-caption tokenisation in pure Python: what pycocoevalcap feeds its scorers.

pycocoevalcap runs Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines -lowerCase``
(Java) over the captions and then drops the tokens in :data:`PUNCTUATIONS`.
:func:`tokenize` does the same without Java (:mod:`collab_infer.metrics.ptb_lexer`
re-implements the scanner), and equals the jar plus that filter on every caption of a
7,694-caption corpus of COCO-like captions full of tokenisation hazards (brackets,
quotes, times, fractions, numbers, hyphens, contractions, ellipses, abbreviations, URLs,
symbols, unicode; ``tests/metrics/test_ptb_parity.py``).

Some consequences worth knowing, all pycocoevalcap's own: brackets become ``-lrb-``,
``-rrb-``, ``-lsb-``, ... and are *kept* (its filter lists them in upper case, the
tokenizer lower-cases them); ``cannot`` -> ``can not``, ``gonna`` -> ``gon na``, ``can't``
-> ``ca n't``; ``10:15``, ``3/4``, ``1,000`` and ``a.m.`` stay one token; ``?!``, ``%``,
``$``, ``&`` and ``#`` are kept; emoji are deleted. Captions are read one per line, so a
newline inside a caption is a space.

>>> tokenize("A dog's ball, (red) isn't \\"big\\".")
['a', 'dog', "'s", 'ball', '-lrb-', 'red', '-rrb-', 'is', "n't", 'big']

The scanner peeks past the end of a line in one case: a caption ending in a one-letter
abbreviation (``vitamin c.``) loses its period when the next line starts a sentence
(``A ...``, ``The ...``). :func:`tokenize` assumes a next line in lower case;
:func:`tokenize_file` sees the real next caption, as pycocoevalcap's one file per call.

For the jar itself (when Java is present) see :mod:`collab_infer.metrics.corenlp`.
"""

from __future__ import annotations

from collections.abc import Sequence

from collab_infer.metrics.ptb_lexer import ptb_tokens

__all__ = ["PUNCTUATIONS", "tokenize", "tokenize_caption", "tokenize_file"]

#: Tokens removed after tokenisation (pycocoevalcap's ``ptbtokenizer.PUNCTUATIONS``;
#: the bracket names are upper case there, so the lower-cased ``-lrb-`` etc. survive).
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-"]
    + [".", "?", "!", ",", ":", "-", "--", "...", ";"]
)


def tokenize(text: str) -> list[str]:
    """pycocoevalcap's tokens of one caption: lower-cased PTB tokens, punctuation removed.

    :param text: one raw caption
    :return: list of tokens (possibly empty)
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [t for t in ptb_tokens(text.replace("\n", " ")) if t not in PUNCTUATIONS]


def tokenize_caption(text: str) -> str:
    """:func:`tokenize` joined by single spaces (the input format of the COCO scorers)."""
    return " ".join(tokenize(text))


#: how much of the following captions the scanner may need to see (its longest look
#: ahead: blank lines, a sentence-starting word such as "Additionally", one more char)
_LOOKAHEAD_CHARS = 64


def tokenize_file(texts: Sequence[str]) -> list[str]:
    """:func:`tokenize_caption` of each caption, read as the lines of one file in this
    order (what pycocoevalcap's ``PTBTokenizer.tokenize`` does with all the captions of
    one call: the references of every image, or the hypotheses).

    :param texts: raw captions, in pycocoevalcap's order
    :return: one tokenised caption per input
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of captions, got a single str")
    lines = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
        lines.append(t.replace("\n", " "))
    out = []
    for i, line in enumerate(lines):
        after, j = "", i + 1
        while j < len(lines) and len(after) < _LOOKAHEAD_CHARS:
            after += "\n" + lines[j]
            j += 1
        tokens = ptb_tokens(line, after)
        out.append(" ".join(t for t in tokens if t not in PUNCTUATIONS))
    return out
