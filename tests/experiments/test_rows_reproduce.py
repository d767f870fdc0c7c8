"""reproduce over a damaged results folder: no UnicodeDecodeError, no ArrowInvalid; the
damage is counted in a warning and the report is written again."""

import pytest

from experiments.config import load_config
from experiments.reproduce import reproduce
from experiments.rows import ResultsStoreWarning
from experiments.runner import ImageSet

FIG3 = {
    "name": "fig3",
    "schemes": [
        {"label": "kmeans", "reducer": "kmeans", "budgets": {"ratio": [0.125]}},
        {"label": "random", "reducer": "random", "budgets": {"ratio": [0.125]}},
        {"label": "full", "reducer": "full"},
    ],
    "metrics": {"n_boot": 20},
}


def _reproduce(out, fake_vlm, fake_samples):
    return reproduce(
        out,
        model=fake_vlm,
        configs=[load_config(FIG3)],
        images=ImageSet.from_samples(fake_samples),
        progress=False,
        log=lambda *_: None,
    )


def test_reproduce_survives_damaged_captions_and_table(tmp_path, fake_vlm, fake_samples):
    first = _reproduce(tmp_path, fake_vlm, fake_samples)
    assert first.rows_run == 3
    lines = (tmp_path / "captions.jsonl").read_bytes().split(b"\n")
    lines.insert(2, b'{"row_hash": "x", "image_id": "y", "caption": "\xe9t\xe9"}')  # latin-1
    lines.insert(4, b'{"row_hash": "x", "ima')  # garbled mid-file
    (tmp_path / "captions.jsonl").write_bytes(b"\n".join(lines))
    (tmp_path / "results.parquet").write_bytes(b"")  # a 0-byte table
    (tmp_path / "report.md").unlink()
    with pytest.warns(ResultsStoreWarning) as record:
        again = _reproduce(tmp_path, fake_vlm, fake_samples)
    messages = " ".join(str(w.message) for w in record)
    assert "rebuilt it from results.csv: 3 rows recovered" in messages
    assert "(1 not UTF-8, 1 not a JSON caption record)" in messages
    assert again.rows_run == 0 and again.rows_skipped == 3
    assert (tmp_path / "report.md").exists()
