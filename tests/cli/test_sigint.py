"""A real SIGINT during ``collab-infer sweep``: exit 130, the saved rows counted, resume said.

One subprocess (the signal must reach a real process); the sweep uses a tiny random
PaliGemma and enough rows that it is still running when the first row is saved.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml


@pytest.mark.slow  # a subprocess importing transformers: about 20 s of CPU
def test_sigint_during_sweep(tmp_path):
    from collab_infer.models.tiny import build_tiny_paligemma

    ckpt = build_tiny_paligemma(tmp_path / "tiny")
    cfg = {
        "name": "sigint",
        "model": {"name": str(ckpt), "device": "cpu"},
        "dataset": {"name": "shapes", "n": 2},
        "generation": {"max_new_tokens": 3, "batch_size": 2},  # one row per append
        "schemes": [{"reducer": "random", "budgets": {"k": [1, 2, 4, 8]}}],
        "seeds": list(range(500)),
        "metrics": {"n_boot": 10},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLLAB_INFER_THREADS": "1"}
    code = "from collab_infer.cli import main; main()"
    args = ["sweep", str(tmp_path / "c.yaml"), "--out", str(out), "--no-progress", "--no-plot"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 240
        while not (out / "results.parquet").exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no row was saved within 240 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, output
    found = re.search(
        r"interrupted: (\d+) rows? saved in .*results\.parquet \((\d+) finished by this run\); "
        r"rerun the same command to resume",
        " ".join(output.split()),
    )
    assert found, output
    saved = len(pd.read_parquet(out / "results.parquet"))
    assert int(found.group(1)) == saved >= 1
    assert int(found.group(2)) <= saved
    assert "Traceback" not in output
