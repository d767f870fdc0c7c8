"""The pure-Python tokenizer against pycocoevalcap's PTBTokenizer (CoreNLP 3.4.1 jar +
its punctuation filter), recorded once on a 7,694-caption hazard corpus
(``record_ptb_corpus.py``; no Java needed here)."""

import gzip
import hashlib
import json
import pathlib
import shutil
import sys

import pytest

from collab_infer.metrics import tokenize_caption
from collab_infer.metrics.corenlp import CORENLP_LINE_BREAKS

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data" / "ptb_corpus.json.gz"


@pytest.fixture(scope="module")
def corpus():
    return json.loads(gzip.decompress(DATA.read_bytes()))


class TestRecordedCorpus:
    def test_is_the_generated_corpus(self, corpus):
        sys.path.insert(0, str(HERE))
        try:
            from ptb_corpus import generate_corpus
        finally:
            sys.path.remove(str(HERE))
        assert corpus["captions"] == generate_corpus()
        assert len(corpus["captions"]) == len(corpus["ptb"]) == 7694

    def test_corpus_covers_the_hazards(self, corpus):
        text = "".join(corpus["captions"])
        for hazard in [
            "(",
            "[",
            "{",
            '"',
            "\u201c",
            "`",
            "10:15",
            "3/4",
            "1,000",
            "--",
            "cannot",
            "gonna",
            "won't",
            "...",
            "\u2026",
            "U.S.",
            "http://",
            "@",
            "%",
            "$",
            "&",
            "#",
            "\u00e9",
            "\U0001f600",
            "\u00a0",
            "\u732b",
            "\t",
            "\r",
        ]:
            assert hazard in text, hazard
        assert "" in corpus["captions"]

    def test_every_caption_matches_pycocoevalcap(self, corpus):
        bad = [
            (c, got, ref)
            for c, ref in zip(corpus["captions"], corpus["ptb"], strict=True)
            if (got := tokenize_caption(c)) != ref
        ]
        assert not bad, f"{len(bad)} mismatches, first: {bad[:3]}"

    def test_reference_keeps_pycocoevalcap_quirks(self, corpus):
        ptb = dict(zip(corpus["captions"], corpus["ptb"], strict=True))
        assert ptb["(red)"] == "-lrb- red -rrb-"  # bracket names survive the filter
        assert ptb["cannot"] == "can not"
        assert ptb["gonna"] == "gon na"
        assert ptb["10:15"] == "10:15"
        assert ptb["3/4"] == "3/4"
        assert ptb["\U0001f600"] == ""  # emoji deleted


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java for the CoreNLP jar")
class TestAgainstTheJar:
    """Only where Java exists: the jar itself, through the exact mode."""

    def test_exact_mode_equals_recording_and_python(self, corpus):
        from collab_infer.metrics.corenlp import corenlp_jar, corenlp_tokenize

        digest = hashlib.sha256(corenlp_jar().read_bytes()).hexdigest()
        assert digest == corpus["jar_sha256"]
        caps = corpus["captions"][6000:]  # the hazards alone and in every position
        # the jar looks one line ahead: isolate each caption as the recording did
        caps = [c for c in caps if not c.rstrip().endswith(".")]
        got = corenlp_tokenize(caps)
        ref = dict(zip(corpus["captions"], corpus["ptb"], strict=True))
        assert got == [ref[c] for c in caps]
        assert got == [tokenize_caption(c) for c in caps]

    def test_line_breaks_do_not_shift_captions(self):
        from collab_infer.metrics.corenlp import corenlp_tokenize

        caps = [f"a{b}b" for b in CORENLP_LINE_BREAKS] + ["last one"]
        assert corenlp_tokenize(caps) == ["a b"] * len(CORENLP_LINE_BREAKS) + ["last one"]

    def test_file_mode_equals_the_jar_on_a_shuffled_corpus(self, corpus):
        import random

        from collab_infer.metrics import tokenize_file
        from collab_infer.metrics.corenlp import corenlp_tokenize

        caps = list(corpus["captions"])
        random.Random(1).shuffle(caps)  # new neighbours: the jar's look-ahead differs
        caps = caps[:3000]
        assert tokenize_file(caps) == corenlp_tokenize(caps)
