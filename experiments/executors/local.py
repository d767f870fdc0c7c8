"""The local executor: every group of rows in this process, one after the other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runs the groups in this process with one :class:`~experiments.runner._RunContext`
    per run (its caches: tokens encoded once, payloads, each distinct token sequence
    captioned once).

    :param model: a loaded VLM (default: ``collab_infer.models.load(cfg.model...)``)
    :param components: the pipeline stages (default :class:`experiments.runner._Components`)
    """

    def __init__(self, model: Any = None, components: Any = None) -> None:
        self.model, self.components = model, components
        self._ctx = None
        self._loaded: str | None = None  # ModelSpec.cache_key() of a model loaded here

    def open(self, cfg: Any, images: Any) -> tuple[int, str]:
        from experiments.runner import _Components, _RunContext, model_fingerprint

        m = cfg.model
        key = m.cache_key()
        if self.model is None or (self._loaded is not None and self._loaded != key):
            from collab_infer.models import load

            self.model = load(m.name, **m.load_kwargs())
            self._loaded = key  # loaded here for this spec (a given model is used as is)
        comps = self.components or _Components()
        self._ctx = _RunContext(cfg, self.model, images, comps)
        return int(self.model.n_tokens), model_fingerprint(self.model)

    def run_groups(
        self, groups: list[list[Any]], advance: Callable[[int], None]
    ) -> Iterator[list[dict]]:
        if self._ctx is None:
            raise RuntimeError("LocalExecutor.run_groups before open(cfg, images)")
        for rows in groups:
            yield self._ctx.run_group(rows, advance)

    def close(self) -> None:
        self._ctx = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
