"""VQA metrics: VQAv2 accuracy (the official evaluation's answer normalisation and
leave-one-out average), exact match (GQA) and ANLS (TextVQA / DocVQA style).

**VQAv2 accuracy** (Antol et al. 2015; the official ``vqaEval.py``): the predicted answer
is normalised (newlines and tabs to spaces, stripped, :func:`process_punctuation`, then
:func:`process_digit_article`: lower case, number words ``zero``..``ten`` (and ``none``)
to digits, articles dropped, contractions restored). When the human answers disagree,
each of them is punctuation-normalised too (only then, as in the official script). With
``m_j`` the number of humans, other than human ``j``, who gave the predicted answer::

    acc = 1/H * sum_j min(1, m_j / 3)        (H = number of human answers, 10 in VQAv2)

so, of 10 humans, 4 or more matching give 1, 3 give 0.9, 2 give 0.6 and 1 gives 0.3.

**Exact match** (GQA): 1 when the normalised prediction equals a normalised gold answer.

**ANLS** (Biten et al. 2019): with ``NL`` the Levenshtein distance divided by the longer
length, on lower-cased, whitespace-collapsed strings, a question scores
``max_gold (1 - NL if NL < 0.5 else 0)``.

Scores are per question in [0, 1]; corpus scores are means, with percentile bootstrap
intervals over questions (:func:`score_vqa`).

>>> vqa_accuracy(["Two"], [["2"] * 2 + ["3"] * 8])
0.6
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "VQA_METRIC_NAMES",
    "anls",
    "anls_per_question",
    "exact_match",
    "exact_match_per_question",
    "normalize_answer",
    "process_digit_article",
    "process_punctuation",
    "score_vqa",
    "vqa_accuracy",
    "vqa_accuracy_per_question",
]

#: Keys of :func:`score_vqa`'s scores.
VQA_METRIC_NAMES = ("vqa_accuracy", "exact_match", "anls")

# --- the official vqaEval.py tables
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip
_NUMBERS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset(["a", "an", "the"])
_PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<"]
_PUNCT += ["@", "`", ",", "?", "!"]
# as written in the official script: "(?!<=\d)" is a look-ahead (not behind), so a period
# is removed unless a digit follows it
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")


def process_punctuation(text: str) -> str:
    """The official ``processPunctuation``: each punctuation mark is deleted when it
    touches a space (or the text has a digit-comma-digit), else replaced by a space;
    periods not followed by a digit are deleted (at most 32, as the official call passes
    ``re.UNICODE`` = 32 as ``count``)."""
    out = text
    for p in _PUNCT:
        if (p + " " in text or " " + p in text) or _COMMA_STRIP.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, re.UNICODE)


def process_digit_article(text: str) -> str:
    """The official ``processDigitArticle``: lower case, number words to digits, articles
    dropped, contractions restored (``dont`` -> ``don't``), words joined by one space."""
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(text: str) -> str:
    """A predicted answer as the official evaluation compares it (see the module doc).

    >>> normalize_answer("Two dogs.")
    '2 dogs'
    """
    if not isinstance(text, str):
        raise TypeError(f"an answer must be a str, got {type(text).__name__}")
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(text))


def _check(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> None:
    if isinstance(preds, str):
        raise TypeError("preds must be a list of answers, got a single str")
    if len(preds) != len(answers):
        raise ValueError(f"preds ({len(preds)}) and answers ({len(answers)}) must pair up")
    if len(preds) == 0:
        raise ValueError("preds must hold at least one answer")
    for i, (p, gold) in enumerate(zip(preds, answers, strict=True)):
        if not isinstance(p, str):
            raise TypeError(f"preds[{i}] must be a str, got {type(p).__name__}")
        if isinstance(gold, str) or len(gold) == 0 or not all(isinstance(g, str) for g in gold):
            raise ValueError(f"answers[{i}] must be a non-empty list of answer strings")


def vqa_accuracy_per_question(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> np.ndarray:
    """VQAv2 accuracy of each question, [questions] float64 in [0, 1].

    :param preds: one raw predicted answer per question
    :param answers: for each question, the human answers (10 in VQAv2; any number >= 1)
    """
    _check(preds, answers)
    out = np.zeros(len(preds))
    for i, (pred, gold) in enumerate(zip(preds, answers, strict=True)):
        res = normalize_answer(pred)
        if len(set(gold)) > 1:
            gold = [process_punctuation(g) for g in gold]
        matches = sum(g == res for g in gold)
        # leave human j out: the others match (matches - [gold_j == res]) times
        out[i] = np.mean([min(1.0, (matches - (g == res)) / 3.0) for g in gold])
    return out


def exact_match_per_question(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> np.ndarray:
    """1.0 where the normalised prediction equals a normalised gold answer, else 0.0."""
    _check(preds, answers)
    return np.array(
        [
            float(normalize_answer(p) in {normalize_answer(g) for g in gold})
            for p, gold in zip(preds, answers, strict=True)
        ]
    )


def _levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def anls_per_question(
    preds: Sequence[str], answers: Sequence[Sequence[str]], *, threshold: float = 0.5
) -> np.ndarray:
    """ANLS of each question: ``max_gold (1 - NL)`` with scores of ``NL >= threshold``
    set to 0; strings lower-cased with whitespace runs collapsed (DocVQA's evaluation)."""
    _check(preds, answers)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    out = np.zeros(len(preds))
    for i, (pred, gold) in enumerate(zip(preds, answers, strict=True)):
        p = " ".join(pred.strip().lower().split())
        best = 0.0
        for g in gold:
            g = " ".join(g.strip().lower().split())
            longest = max(len(p), len(g))
            nl = _levenshtein(p, g) / longest if longest else 0.0
            best = max(best, 1.0 - nl if nl < threshold else 0.0)
        out[i] = best
    return out


def vqa_accuracy(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> float:
    """Mean VQAv2 accuracy (0-1; the official script reports x100)."""
    return float(vqa_accuracy_per_question(preds, answers).mean())


def exact_match(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> float:
    """Mean exact match (0-1)."""
    return float(exact_match_per_question(preds, answers).mean())


def anls(preds: Sequence[str], answers: Sequence[Sequence[str]]) -> float:
    """Mean ANLS (0-1)."""
    return float(anls_per_question(preds, answers).mean())


def score_vqa(
    preds: Sequence[str],
    answers: Sequence[Sequence[str]],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """All of :data:`VQA_METRIC_NAMES` and their percentile bootstrap intervals over
    questions (``n_boot`` resamples with replacement from ``numpy.random.default_rng(seed)``).

    :return: ``({"vqa_accuracy": ..., "exact_match": ..., "anls": ...}, {name: (lo, hi)})``
    """
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    per = {
        "vqa_accuracy": vqa_accuracy_per_question(preds, answers),
        "exact_match": exact_match_per_question(preds, answers),
        "anls": anls_per_question(preds, answers),
    }
    n = len(preds)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    scores, ci = {}, {}
    for name, values in per.items():
        scores[name] = float(values.mean())
        lo, hi = np.percentile(values[idx].mean(axis=1), q)
        ci[name] = (float(lo), float(hi))
    return scores, ci
