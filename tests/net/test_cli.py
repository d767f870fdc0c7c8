"""``collab-infer serve / edge / link``: user mistakes fail fast (exit 2, before any
model loads); ``link`` runs and stops by itself."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from collab_infer.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edge", "x.png", "--server", "nohost"], "HOST:PORT"),
        (["edge", "x.png", "--out", "rows.txt"], ".csv or .jsonl"),
        (["edge", "missing.png"], "missing.png"),
        (["link", "--forward", "host"], "HOST:PORT"),
        (["link", "--channel", "nope"], "nope"),
        (["serve", "--max-batch", "0"], "max_batch"),
        (["serve", "--max-inflight", "2", "--max-inflight-client", "3"], "max_inflight"),
    ],
)
def test_mistakes_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_short_key_file_refused(tmp_path):
    key = tmp_path / "key"
    key.write_text("short")
    result = runner.invoke(app, ["serve", "--key-file", str(key)])
    assert result.exit_code == 2 and "at least 16 bytes" in result.output


def test_link_runs_for_its_duration_and_prints_counts():
    result = runner.invoke(
        app,
        [
            "link",
            "--listen",
            "127.0.0.1:0",
            "--channel",
            "erasure",
            "--loss",
            "0.1",
            "--duration",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["datagrams"] == 0 and stats["channel"] == {"name": "erasure", "loss": 0.1}
