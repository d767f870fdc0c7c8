"""The Ray executor: a sweep's groups of rows on the actors of a Ray cluster.

Work split (every number computed by the runner's own code, so the rows are the local
runner's, row for row)::

    driver: images --ray.put--> object store
    actors (one model each, loaded once, a GPU or a fraction each):
        encode chunks of generation.batch_size images (the local runner's chunks)
    driver: tokens [B, N, D] = cat(chunks) --ray.put--> object store (no files)
    actors: one unit = one group of rows (the groups run_sweep forms), on every image:
        RunContext.run_group: reduce -> codec -> channel -> reconstruct -> caption -> score
    driver: each finished group's rows -> ResultsStore (the only writer)

A unit is a whole group of rows over all images, not an image shard, because four
things of a row need all of its images in one place: the reducer is called on the
[B, N, D] batch with the row's seed, the channel is one process over the row's images
in order (Gilbert-Elliott carries its state), the analog priors are leave-one-out over
the row's images and budget fitting sees every image's payload. Seeds come from the
rows (``derive_seed(row.seed, ...)``), so where a group runs changes nothing.

Each actor keeps one ``_RunContext`` per run: payloads, decoded-image tokens and "each
distinct token sequence captioned once" hold per actor (across the groups it runs), so
a sequence is captioned at most once per actor instead of once per sweep. That is the
local runner's assumption too (a caption cached in one group is reused in another):
a decoder's caption of a sequence must not depend on its batch-mates.

Faults: an actor that dies is restarted (``max_restarts``; it reloads the model) and its
unfinished units are retried (``max_task_retries``); a unit's rows are written once,
when its result first arrives, so none is lost or duplicated. Ctrl-C on the driver
stops the actors; every row written before stays (resume with either executor).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["RayExecutor", "INSTALL_HINT"]

INSTALL_HINT = (
    "the ray executor needs the optional dependency ray: pip install 'collab-infer[ray]' "
    "(or .venv/bin/pip install 'ray>=2.9'; make setup installs it with the dev extra)"
)

_RUN_IDS = itertools.count()
#: seconds to wait for room on the cluster before refusing the actors
ROOM_WAIT_S = 15.0


def _ray():
    """The ``ray`` module, or a CollabInferError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise CollabInferError(INSTALL_HINT) from None
    return ray


class _Worker:
    """One Ray actor: a loaded model, the pipeline stages, and the run context of the
    current run (rebuilt from the object store after a restart)."""

    def __init__(self, model_spec: dict[str, Any], threads: int) -> None:
        from collab_infer.models import load
        from collab_infer.runtime import set_threads
        from experiments.runner import _Components

        set_threads(threads)
        spec = dict(model_spec)
        self.model = load(spec.pop("name"), **spec)
        self.comps = _Components()
        self._run: int | None = None
        self._ctx: Any = None

    def info(self) -> tuple[int, str, int]:
        """(tokens per image, model fingerprint, process id)."""
        from experiments.runner import model_fingerprint

        return int(self.model.n_tokens), model_fingerprint(self.model), os.getpid()

    def encode(self, images_box: list, lo: int, hi: int, batch_size: int) -> tuple[Any, str]:
        """Tokens of images ``lo:hi`` (on the CPU) and their device, encoded in chunks of
        ``batch_size`` from ``lo`` (``lo`` a multiple of it: the local runner's chunks)."""
        import ray
        import torch

        images = ray.get(images_box[0]).images
        chunks = [
            self.model.encode(images[i : min(i + batch_size, hi)])
            for i in range(lo, hi, batch_size)
        ]
        tokens = torch.cat(chunks, dim=0)
        return tokens.cpu(), str(tokens.device)

    def run_group(self, run_id: int, box: list, rows: list) -> list[dict]:
        """``_RunContext.run_group(rows)`` of run ``run_id`` (its cfg, images and tokens
        in ``box``, object refs)."""
        if self._run != run_id:
            import ray

            from experiments.runner import _RunContext

            cfg, images, tokens = ray.get(box)
            self._ctx = _RunContext(cfg, self.model, images, self.comps)
            if tokens is not None:  # the sweep's tokens, encoded once (else: none needed)
                self._ctx._tokens = tokens[0].to(tokens[1])
            self._run = run_id
        return self._ctx.run_group(rows, lambda n=1: None)


class RayExecutor:
    """Computes a sweep's groups of rows on Ray actors (see the module docstring).

    :param address: a running cluster (``"auto"``, ``"HOST:PORT"``, ``"ray://..."``);
        None starts a local Ray instance with ``workers x cpus_per_worker`` CPUs (or all
        cores). An already initialised Ray (``ray.init`` in this process) is used as is.
    :param workers: actors (each loads the model once); default: as many as the
        cluster's CPUs (and GPUs, with ``gpus_per_worker``) allow
    :param gpus_per_worker: GPUs per actor; a fraction (0.25) packs small models four
        to a GPU
    :param cpus_per_worker: CPUs per actor (also its torch threads, at least 1)
    :param max_restarts: restarts of a dead actor
    :param max_task_retries: retries of a unit whose actor died
    :param in_flight: units queued per actor (keeps it busy while the driver writes)
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        gpus_per_worker: float = 0.0,
        cpus_per_worker: float = 1.0,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        in_flight: int = 2,
    ) -> None:
        _ray()  # installed? (else: how to install it)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be an integer >= 1 (or None: auto), got {workers!r}")
        if not gpus_per_worker >= 0:
            raise ValueError(f"gpus_per_worker must be >= 0, got {gpus_per_worker!r}")
        if not cpus_per_worker > 0:
            raise ValueError(f"cpus_per_worker must be > 0, got {cpus_per_worker!r}")
        if max_restarts < 0 or max_task_retries < 0 or in_flight < 1:
            raise ValueError(
                "max_restarts and max_task_retries must be >= 0 and in_flight >= 1, got "
                f"{max_restarts}, {max_task_retries}, {in_flight}"
            )
        self.address, self.workers = address, workers
        self.gpus_per_worker, self.cpus_per_worker = float(gpus_per_worker), float(cpus_per_worker)
        self.max_restarts, self.max_task_retries, self.in_flight = (
            max_restarts,
            max_task_retries,
            in_flight,
        )
        self.actors: list[Any] = []
        self.pids: list[int] = []
        self._owns_ray = False
        self._model_key: str | None = None  # ModelSpec.cache_key() of the actors
        self._run: tuple | None = None  # (run id, cfg, images ref, n images)

    # ---------------------------------------------------------------- cluster
    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            opts: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
                "configure_logging": True,
            }
            if self.address is None:
                n = os.cpu_count() or 1
                if self.workers is not None:
                    n = max(1, int(-(-self.workers * self.cpus_per_worker // 1)))
                opts["num_cpus"] = n
            else:
                opts["address"] = self.address
            try:
                ray.init(**opts)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local instance"
                raise CollabInferError(f"cannot start Ray on {where}: {exc}") from exc
            self._owns_ray = True
        return ray

    def _n_workers(self, ray) -> int:
        if self.workers is not None:
            return self.workers
        res = ray.cluster_resources()
        n = int(res.get("CPU", 1) // self.cpus_per_worker)
        if self.gpus_per_worker > 0:
            n = min(n, int(res.get("GPU", 0) // self.gpus_per_worker))
            if n < 1:
                raise CollabInferError(
                    f"--gpus-per-worker {self.gpus_per_worker}: the Ray cluster has "
                    f"{res.get('GPU', 0)} GPUs; use a fraction, or 0 for CPU workers"
                )
        return max(1, n)

    def _start_actors(self, cfg: Any) -> None:
        m = cfg.model
        key = m.cache_key()
        if self.actors and key == self._model_key:
            return  # same model: keep the loaded actors
        self._kill_actors()
        ray = self._connect()
        n = self._n_workers(ray)
        _check_room(ray, n, self.cpus_per_worker, self.gpus_per_worker)
        spec = {"name": m.name, **m.load_kwargs()}
        cls = ray.remote(_Worker).options(
            num_cpus=self.cpus_per_worker,
            num_gpus=self.gpus_per_worker,
            max_restarts=self.max_restarts,
            max_task_retries=self.max_task_retries,
        )
        threads = max(1, int(self.cpus_per_worker))
        self.actors = [cls.remote(spec, threads) for _ in range(n)]
        self._model_key = key

    def _kill_actors(self) -> None:
        if self.actors:
            ray = _ray()
            for a in self.actors:
                ray.kill(a, no_restart=True)
        self.actors, self.pids, self._model_key = [], [], None

    # ---------------------------------------------------------------- protocol
    def open(self, cfg: Any, images: Any) -> tuple[int, str]:
        """Start (or reuse) the actors for ``cfg.model`` and share ``images``; return
        (tokens per image, model fingerprint) as the actors' model reports them."""
        self._start_actors(cfg)
        ray = _ray()
        infos = ray.get([a.info.remote() for a in self.actors])
        if len({i[:2] for i in infos}) != 1:
            raise CollabInferError(
                f"the Ray actors loaded different models for {cfg.model.name!r} "
                f"({sorted({i[1] for i in infos})}): every node needs the same weights"
            )
        self.pids = [i[2] for i in infos]
        self._run = (next(_RUN_IDS), cfg, ray.put(images), len(images))
        return infos[0][0], infos[0][1]

    def _tokens_ref(self, ray, images_ref, n_images: int, batch_size: int):
        """The sweep's tokens, encoded once: chunks of ``batch_size`` spread over the
        actors, concatenated here and put into the object store."""
        import torch

        starts = list(range(0, n_images, batch_size))
        per = -(-len(starts) // len(self.actors))
        refs = []
        for a, s in zip(self.actors, range(0, len(starts), per), strict=False):
            lo, hi = starts[s], min(n_images, starts[min(s + per, len(starts)) - 1] + batch_size)
            refs.append(a.encode.remote([images_ref], lo, hi, batch_size))
        parts = ray.get(refs)
        return ray.put((torch.cat([p[0] for p in parts], dim=0), parts[0][1]))

    def run_groups(
        self, groups: list[list[Any]], advance: Callable[[int], None]
    ) -> Iterator[list[dict]]:
        if self._run is None:
            raise RuntimeError("RayExecutor.run_groups before open(cfg, images)")
        ray = _ray()
        run_id, cfg, images_ref, n_images = self._run
        needs_tokens = any(r.kind == "tokens" for rows in groups for r in rows)
        tokens_ref = (
            self._tokens_ref(ray, images_ref, n_images, cfg.generation.batch_size)
            if needs_tokens
            else ray.put(None)
        )
        box = [ray.put(cfg), images_ref, tokens_ref]
        queue = list(range(len(groups)))
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (group, actor)

        def submit(a: int) -> None:
            g = queue.pop(0)
            pending[self.actors[a].run_group.remote(run_id, box, groups[g])] = (g, a)

        try:
            for _ in range(self.in_flight):
                for a in range(len(self.actors)):
                    if queue:
                        submit(a)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                g, a = pending.pop(ready[0])
                results = ray.get(ready[0])
                if queue:
                    submit(a)
                advance(len(groups[g]) * n_images)
                yield results
        except BaseException:  # Ctrl-C, a unit out of retries, the caller stopping
            self._kill_actors()
            raise

    def close(self) -> None:
        """Stop the actors, and the Ray instance if this executor started it."""
        if not _ray_imported():
            return
        self._kill_actors()
        self._run = None
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _check_room(ray, n: int, cpus: float, gpus: float) -> None:
    """A clear error when ``n`` actors of ``cpus`` / ``gpus`` each cannot all start now
    (they would wait for resources forever)."""
    import time

    need = {"CPU": n * cpus, "GPU": n * gpus}
    deadline = time.monotonic() + ROOM_WAIT_S  # just-killed actors free theirs in a moment
    while True:
        free = ray.available_resources()
        short = {r: v for r, v in need.items() if v > 0 and free.get(r, 0.0) + 1e-9 < v}
        if not short or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if short:
        have = {r: round(free.get(r, 0.0), 3) for r in short}
        raise CollabInferError(
            f"{n} Ray workers need {short} but the cluster has {have} free (other jobs or "
            "actors hold the rest): use fewer --workers, smaller --cpus-per-worker / "
            "--gpus-per-worker, or add nodes (ray start --address ...)"
        )


def _ray_imported() -> bool:
    import sys

    return "ray" in sys.modules
