"""PTB-like caption tokenisation in pure Python (what COCO caption evaluation feeds its
scorers).

pycocoevalcap runs Stanford CoreNLP's ``PTBTokenizer -preserveLines -lowerCase`` (Java)
and then drops punctuation tokens. This module follows the same rules without Java:
lower-case, split punctuation and clitics off words (``don't`` -> ``do n't``,
``dog's`` -> ``dog 's``), map quotes and brackets to their PTB forms, and remove the
tokens pycocoevalcap removes (:data:`PUNCTUATIONS`). Hyphenated words, decimal
numbers and inner-period abbreviations (``a.m.``) stay one token, as in CoreNLP.

>>> tokenize("A dog's ball, (red) isn't \\"big\\".")
['a', 'dog', "'s", 'ball', 'red', 'is', "n't", 'big']
"""

from __future__ import annotations

import re

__all__ = ["PUNCTUATIONS", "tokenize", "tokenize_caption"]

#: Tokens removed after tokenisation (pycocoevalcap's ``ptbtokenizer.PUNCTUATIONS``).
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-"]
    + [".", "?", "!", ",", ":", "-", "--", "...", ";"]
)

_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
# a word: letters/digits with inner hyphens, periods (a.m., 3.5), apostrophes handled later
_TOKEN_RE = re.compile(
    r"""
    \d+(?:[.,]\d+)+          # numbers with decimal / thousands separators
  | (?:[a-z]\.){2,}          # abbreviations with inner periods: a.m., u.s.
  | \w+(?:[-']\w+)*  # words, hyphenated words, words with apostrophes
  | \.\.\.|--                # ellipsis, dash
  | \S                       # any other single non-space character
    """,
    re.VERBOSE,
)
_CLITIC_RE = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")


def _split_clitics(word: str) -> list[str]:
    if "'" not in word:
        return [word]
    m = _CLITIC_RE.match(word)
    if m is None:
        return [word]
    return [*_split_clitics(m.group(1)), m.group(2)]


def tokenize(text: str) -> list[str]:
    """PTB-like tokens of ``text``, lower-cased, punctuation tokens removed.

    :param text: one caption
    :return: list of tokens (possibly empty)
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = text.replace("\n", " ").replace("\u2019", "'").lower()
    out: list[str] = []
    for tok in _TOKEN_RE.findall(text):
        if tok == '"':
            continue  # PTB quotes (`` / '') are punctuation and removed
        tok = _BRACKETS.get(tok, tok)
        for part in _split_clitics(tok):
            if part not in PUNCTUATIONS:
                out.append(part)
    return out


def tokenize_caption(text: str) -> str:
    """:func:`tokenize` joined by single spaces (the input format of the COCO scorers)."""
    return " ".join(tokenize(text))
