"""Where a sweep's rows are computed: this process, or the actors of a Ray cluster.

An executor computes the *groups* of rows that :func:`experiments.runner.run_sweep`
forms (enough rows to fill a generation batch) with the runner's own
:meth:`experiments.runner._RunContext.run_group`, and hands each group's finished rows
back to ``run_sweep``, which alone writes the results folder (one
:class:`~experiments.rows.ResultsStore`, its lock and row hashes): resume, the report and
the plots do not know which executor ran, and a sweep started by one can be finished by
another. The protocol (duck-typed):

``open(cfg, images) -> (n_tokens, model_id)``
    prepare a run of ``cfg`` on ``images`` (load the model where it runs) and return
    the model's token count and :func:`~experiments.runner.model_fingerprint` (the
    row hashes depend on them)
``run_groups(groups, advance) -> Iterator[list[dict]]``
    each group's results rows (as ``run_group`` returns them), in any order, each group
    exactly once; ``advance(n)`` moves the progress bar by ``n`` image-rows

>>> make_executor("local").__class__.__name__
'LocalExecutor'
"""

from __future__ import annotations

from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["EXECUTORS", "cli_executor", "make_executor"]

#: executor names -> "module:class" (imported when chosen: ray is optional)
EXECUTORS = {
    "local": "experiments.executors.local:LocalExecutor",
    "ray": "experiments.executors.ray_executor:RayExecutor",
}


def make_executor(name: str, **options: Any) -> Any:
    """The executor called ``name`` (``"local"`` or ``"ray"``), built with ``options``.

    :raises CollabInferError: an unknown name (listing the known ones), or ``ray``
        without the optional dependency installed (saying how to install it).
    """
    if name not in EXECUTORS:
        raise CollabInferError(f"unknown executor {name!r}; choose from {sorted(EXECUTORS)}")
    import importlib

    module, attr = EXECUTORS[name].split(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(**options)


def cli_executor(
    name: str,
    *,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float = 1.0,
) -> Any:
    """The executor of the CLI's ``--executor`` options, as a context manager giving
    what ``run_sweep(executor=...)`` takes (None: the local runner in this process).

    :raises CollabInferError: an unknown name, Ray options without ``--executor ray``,
        or ray not installed.
    """
    import contextlib

    if name == "local":
        given = [
            flag
            for flag, value, default in (
                ("--address", address, None),
                ("--workers", workers, None),
                ("--gpus-per-worker", gpus_per_worker, 0.0),
                ("--cpus-per-worker", cpus_per_worker, 1.0),
            )
            if value != default
        ]
        if given:
            raise CollabInferError(f"{', '.join(given)} need --executor ray")
        return contextlib.nullcontext(None)
    try:
        return make_executor(
            name,
            address=address,
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            cpus_per_worker=cpus_per_worker,
        )
    except ValueError as exc:
        raise CollabInferError(f"--executor {name}: {exc}") from exc
