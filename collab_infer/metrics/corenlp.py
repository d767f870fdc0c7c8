"""Exact COCO-caption tokenisation: run the Stanford CoreNLP 3.4.1 jar that
pycocoevalcap ships, with pycocoevalcap's options and punctuation filter.

pycocoevalcap's ``PTBTokenizer`` writes one caption per line (newlines inside a caption
replaced by spaces) and runs::

    java -cp stanford-corenlp-3.4.1.jar edu.stanford.nlp.process.PTBTokenizer \\
        -preserveLines -lowerCase FILE

then keeps, of each output line split on single spaces, the tokens not in
:data:`~collab_infer.metrics.tokenize.PUNCTUATIONS`. :func:`corenlp_tokenize` does the
same, with one fix: the jar also ends a line at ``\\r``, ``\\v``, ``\\f``, U+2028 and
U+2029, which in pycocoevalcap shifts every later caption onto the wrong image; here those
characters become spaces first (the jar treats them as token boundaries either way), so
each caption keeps its own tokens.

Needs Java (``java`` on ``PATH``, any version >= 8; ``apt-get install
default-jre-headless``) and the jar: pycocoevalcap's copy (``pip install pycocoevalcap``)
or the path in the environment variable ``COLLAB_INFER_CORENLP_JAR``. The pure-Python
:func:`~collab_infer.metrics.tokenize.tokenize_caption` gives the same strings without
Java (tested on a recorded corpus).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from collab_infer.errors import CollabInferError

__all__ = [
    "CORENLP_LINE_BREAKS",
    "check_corenlp",
    "corenlp_jar",
    "corenlp_raw_lines",
    "corenlp_tokenize",
]

#: Characters the 3.4.1 jar ends a line at (besides ``\n``).
CORENLP_LINE_BREAKS = "\r\x0b\x0c\u2028\u2029"
_JAR_NAME = "stanford-corenlp-3.4.1.jar"
_CLASS = "edu.stanford.nlp.process.PTBTokenizer"


def corenlp_jar() -> pathlib.Path:
    """Path of the CoreNLP 3.4.1 jar: ``$COLLAB_INFER_CORENLP_JAR``, else pycocoevalcap's.

    :raises CollabInferError: neither exists (says how to get one)
    """
    env = os.environ.get("COLLAB_INFER_CORENLP_JAR")
    if env:
        path = pathlib.Path(env)
        if not path.is_file():
            raise CollabInferError(
                f"COLLAB_INFER_CORENLP_JAR={env!r} is not a file; point it at "
                f"{_JAR_NAME} or unset it to use pycocoevalcap's copy"
            )
        return path
    import importlib.util

    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is not None and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            path = pathlib.Path(base) / "tokenizer" / _JAR_NAME
            if path.is_file():
                return path
    raise CollabInferError(
        f"tokenizer='corenlp' needs {_JAR_NAME}: `pip install pycocoevalcap` (it ships the "
        "jar) or set COLLAB_INFER_CORENLP_JAR; or use tokenizer='ptb' (pure Python, same "
        "output on the tested corpus)"
    )


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise CollabInferError(
            "tokenizer='corenlp' runs the CoreNLP jar and needs Java, but `java` is not on "
            "PATH: install a JRE (e.g. `apt-get install default-jre-headless`) or use "
            "tokenizer='ptb' (pure Python, same output on the tested corpus)"
        )
    return java


def check_corenlp() -> None:
    """Raise :class:`CollabInferError` (saying what to install) unless Java and the jar
    are both there; runs nothing (for config validation, before any model loads)."""
    _java()
    corenlp_jar()


def corenlp_raw_lines(lines: Sequence[str]) -> list[str]:
    """The jar's output lines (lower-cased PTB tokens joined by spaces, unfiltered) for
    input lines that contain no line break (one output line per input line).

    :param lines: input lines; none may contain ``\\n`` or :data:`CORENLP_LINE_BREAKS`
    :raises CollabInferError: no Java / no jar / the jar failed
    """
    for i, line in enumerate(lines):
        if any(c in line for c in "\n" + CORENLP_LINE_BREAKS):
            raise ValueError(f"lines[{i}] contains a line break; corenlp_tokenize removes them")
    if not lines:
        return []
    java, jar = _java(), corenlp_jar()
    with tempfile.TemporaryDirectory(prefix="collab_infer_ptb_") as tmp:
        path = pathlib.Path(tmp) / "captions.txt"
        path.write_bytes("\n".join(lines).encode("utf-8"))
        cmd = [java, "-cp", str(jar), _CLASS, "-preserveLines", "-lowerCase", str(path)]
        proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise CollabInferError(f"the CoreNLP tokenizer failed (exit {proc.returncode}): {err}")
    out = proc.stdout.decode("utf-8").split("\n")
    if len(out) != len(lines):
        raise CollabInferError(
            f"the CoreNLP tokenizer returned {len(out)} lines for {len(lines)} captions"
        )
    return out


def corenlp_tokenize(texts: Sequence[str]) -> list[str]:
    """pycocoevalcap's PTBTokenizer output for each caption (one Java run for all).

    :param texts: raw captions
    :return: one tokenised caption per input: lower-cased tokens, punctuation removed,
        joined by single spaces (what pycocoevalcap hands its scorers)

    >>> corenlp_tokenize(["A man (left) can't."])  # doctest: +SKIP
    ['a man -lrb- left -rrb- ca n\\'t']
    """
    from collab_infer.metrics.tokenize import PUNCTUATIONS

    if isinstance(texts, str):
        raise TypeError("texts must be a list of captions, got a single str")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
    table = {ord(c): " " for c in "\n" + CORENLP_LINE_BREAKS}
    raw = corenlp_raw_lines([t.translate(table) for t in texts])
    return [" ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS) for line in raw]
