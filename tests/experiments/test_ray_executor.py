"""The Ray executor gives the local runner's rows, row for row: one local Ray instance
with 2 CPUs (module-scoped: Ray starts slowly) and the built-in default model on a few
images, through k-means and random reducers, a JPEG row, an i.i.d. erasure link and a
bursty Gilbert-Elliott link (whose state runs over a row's images in order)."""

from __future__ import annotations

import os
import signal
import sys

import pandas as pd
import pytest

from collab_infer.errors import CollabInferError
from experiments.config import load_config
from experiments.executors import cli_executor, make_executor
from experiments.rows import ResultsStore
from experiments.runner import run_sweep

CFG = {
    "name": "raytest",
    "model": {"name": "default"},
    "dataset": {"name": "shapes", "split": "test", "n": 3, "seed": 0},
    # 3 images, batch 6: groups of 2 rows -> 3 units for the 6 rows
    "generation": {"batch_size": 6, "max_new_tokens": 6},
    "schemes": [
        {"label": "kmeans", "reducer": "kmeans", "budgets": {"k": [4]}, "number_formats": ["fp16"]},
        {"label": "random", "reducer": "random", "budgets": {"k": [8]}, "number_formats": ["int8"]},
        {"kind": "image", "codec": "jpeg", "qualities": [50]},
    ],
    "channels": [
        {"name": "erasure", "sweep": {"loss": [0.3]}},
        {
            "name": "gilbert_elliott",
            "params": {"mean_burst_length": 4},
            "sweep": {"loss_rate": [0.2]},
        },
    ],
    "metrics": {"n_boot": 20},
}
#: provenance, not results: wall-clock date and seconds, and the git hash (cached per
#: process; a commit landing between two runs changes it)
PROVENANCE = ["date", "elapsed_s", "git_hash"]


def _table(out) -> pd.DataFrame:
    df = ResultsStore(out).table().drop(columns=PROVENANCE)
    return df.sort_values("row_hash").reset_index(drop=True)


def _captions(out) -> pd.DataFrame:
    df = ResultsStore(out).captions()
    return df.sort_values(["row_hash", "image_id"]).reset_index(drop=True)


def _assert_same(out, ref) -> None:
    got, want = _table(out), _table(ref)
    assert len(got) == 6 and got["row_hash"].is_unique
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(_captions(out), _captions(ref), check_exact=True)


@pytest.fixture(scope="module")
def cfg():
    return load_config(CFG)


@pytest.fixture(scope="module")
def local_ref(cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    s = run_sweep(cfg, out, progress=False)
    assert s.rows_run == 6
    df = ResultsStore(out).table()
    # the channels really lose packets (else equality would prove little)
    assert (df["packets_lost"] > 0).any() and df["bits"].gt(0).all()
    return out


@pytest.fixture(scope="module")
def executor():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=True,
        logging_level="ERROR",
    )
    try:
        with make_executor("ray", workers=2) as ex:
            yield ex
    finally:
        ray.shutdown()


@pytest.mark.slow  # a Ray instance and actors (CI runs slow tests too)
class TestRayExecutor:
    def test_identical_to_local(self, cfg, local_ref, executor, tmp_path):
        s = run_sweep(cfg, tmp_path, progress=False, executor=executor)
        assert (s.rows_run, s.rows_skipped, len(s.row_hashes)) == (6, 0, 6)
        assert len(executor.actors) == 2
        _assert_same(tmp_path, local_ref)

    def test_actor_killed_mid_run(self, cfg, local_ref, executor, tmp_path):
        import ray

        pid = executor.pids[0] if executor.pids else None
        killed = []

        def kill_once(row):
            if not killed:  # a real crash of actor 0 while units are queued on it
                os.kill(executor.pids[0], signal.SIGKILL)
                killed.append(row["row_hash"])

        s = run_sweep(cfg, tmp_path, progress=False, executor=executor, on_row=kill_once)
        assert killed and s.rows_run == 6 and len(set(s.row_hashes)) == 6
        _assert_same(tmp_path, local_ref)
        # the actor was restarted (a new process), not replaced by the other one
        new_pid = ray.get(executor.actors[0].info.remote())[2]
        assert pid is not None and new_pid != pid

    def test_resume_local_then_ray(self, cfg, local_ref, executor, tmp_path):
        first = run_sweep(cfg, tmp_path, progress=False, max_rows=3)
        assert first.rows_run == 3
        s = run_sweep(cfg, tmp_path, progress=False, executor=executor)
        assert (s.rows_run, s.rows_skipped) == (3, 3)
        assert not set(s.row_hashes) & set(first.row_hashes)
        _assert_same(tmp_path, local_ref)

    def test_busy_cluster_refused(self, cfg, executor, tmp_path, monkeypatch):
        from experiments.executors import ray_executor
        from experiments.executors.ray_executor import RayExecutor

        monkeypatch.setattr(ray_executor, "ROOM_WAIT_S", 0.0)
        run_sweep(cfg, tmp_path / "a", progress=False, executor=executor, max_rows=0)  # actors up

        # the module's 2 actors hold both CPUs: 2 more could never start
        with pytest.raises(CollabInferError, match="2 Ray workers need .*CPU.*fewer --workers"):
            run_sweep(cfg, tmp_path / "b", progress=False, executor=RayExecutor(workers=2))

    def test_ctrl_c_keeps_finished_rows(self, cfg, local_ref, executor, tmp_path):
        seen = []

        def interrupt(row):
            seen.append(row["row_hash"])
            raise KeyboardInterrupt  # as Ctrl-C on the driver, after a group is written

        with pytest.raises(KeyboardInterrupt):
            run_sweep(cfg, tmp_path, progress=False, executor=executor, on_row=interrupt)
        assert executor.actors == []  # stopped
        saved = ResultsStore(tmp_path).done()
        assert seen and set(seen) <= saved  # the interrupted group's rows are all saved
        s = run_sweep(cfg, tmp_path, progress=False)  # resume here, locally
        assert (s.rows_skipped, s.rows_run) == (len(saved), 6 - len(saved))
        _assert_same(tmp_path, local_ref)

    def test_cli_sweep_executor_ray(self, local_ref, executor, tmp_path):
        import yaml
        from typer.testing import CliRunner

        from collab_infer.cli import app

        executor.close()  # free the CPUs of its actors for the CLI's own (the last test)

        path = tmp_path / "raytest.yaml"
        path.write_text(yaml.safe_dump(CFG))
        out = tmp_path / "out"
        args = ["sweep", str(path), "--out", str(out), "--no-plot", "--no-progress"]
        res = CliRunner().invoke(app, [*args, "--executor", "ray", "--workers", "1"])
        assert res.exit_code == 0, res.output
        assert "6 rows run" in res.output
        _assert_same(out, local_ref)


class TestOptions:
    def test_ray_options_need_ray_executor(self):
        with pytest.raises(CollabInferError, match="--workers, --gpus-per-worker need --executor"):
            cli_executor("local", workers=2, gpus_per_worker=0.5)

    def test_unknown_executor(self):
        with pytest.raises(CollabInferError, match="unknown executor 'dask'.*'local', 'ray'"):
            make_executor("dask")

    @pytest.mark.parametrize(
        "opts, match",
        [
            ({"workers": 0}, "workers must be an integer >= 1"),
            ({"gpus_per_worker": -1}, "gpus_per_worker must be >= 0"),
            ({"cpus_per_worker": 0}, "cpus_per_worker must be > 0"),
        ],
    )
    def test_bad_options(self, opts, match):
        pytest.importorskip("ray")
        with pytest.raises(CollabInferError, match=match):
            cli_executor("ray", **opts)

    def test_without_ray_says_how_to_install(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
        with pytest.raises(CollabInferError, match=r"pip install 'collab-infer\[ray\]'"):
            make_executor("ray")

    def test_model_with_remote_executor_refused(self, cfg):
        class Remote:
            pass

        with pytest.raises(ValueError, match="model= and components= are for the local"):
            run_sweep(cfg, "unused", model=object(), executor=Remote())
