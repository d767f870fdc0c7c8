"""Append-only, resumable results store of a sweep output folder.

Files in ``out_dir``:

- ``results.parquet`` (+ ``results.csv``, the same table): one row per finished
  :class:`experiments.config.RowSpec`, keyed by ``row_hash``. Each append rewrites
  the file to a temporary name and atomically renames it, so an interrupt (Ctrl-C,
  kill) never leaves a half-written table and loses no finished row.
- ``captions.jsonl``: the per-image captions of every finished row (for the bootstrap
  and inspection), appended before the row itself; duplicate lines from an interrupted
  append are dropped on read (last one wins).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["ResultsStore"]

# lock files held by this process: path -> (file object, depth); re-entrant per process
_HELD: dict[str, list] = {}


class ResultsStore:
    """The results table of one output folder.

    >>> import tempfile
    >>> store = ResultsStore(tempfile.mkdtemp())
    >>> store.append([{"row_hash": "abc", "bleu4": 0.5}])
    >>> store.done()
    {'abc'}
    """

    RESULTS = "results.parquet"
    CSV = "results.csv"
    CAPTIONS = "captions.jsonl"

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._df = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on the folder (``.lock``, ``fcntl.flock``), re-entrant
        within one process. A second process writing the same folder would interleave
        appends and drop rows, so it is refused with a clear error instead."""
        path = str((self.out_dir / ".lock").resolve())
        if path in _HELD:
            _HELD[path][1] += 1
            try:
                yield
            finally:
                _HELD[path][1] -= 1
            return
        fh = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise CollabInferError(
                f"another sweep is writing to {self.out_dir} (lock {path} is held); wait for it "
                "to finish or choose another --out folder"
            ) from None
        except ImportError:  # no fcntl (Windows): run unlocked
            pass
        _HELD[path] = [fh, 1]
        try:
            yield
        finally:
            del _HELD[path]
            fh.close()

    @property
    def results_path(self) -> Path:
        return self.out_dir / self.RESULTS

    def table(self):
        """All finished rows as a pandas DataFrame (empty if none)."""
        import pandas as pd

        if self._df is None:
            self._df = (
                pd.read_parquet(self.results_path)
                if self.results_path.exists()
                else pd.DataFrame({"row_hash": pd.Series([], dtype=str)})
            )
        return self._df

    def done(self) -> set[str]:
        """Hashes of the finished rows."""
        return set(self.table()["row_hash"].astype(str))

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add finished rows (dicts of scalars) and rewrite parquet + CSV atomically.

        Rows whose ``row_hash`` is already present replace the old ones."""
        import pandas as pd

        new = pd.DataFrame([_scalarise(r) for r in rows])
        if new.empty:
            return
        if "row_hash" not in new:
            raise ValueError("every results row needs a 'row_hash'")
        old = self.table()
        old = old[~old["row_hash"].isin(set(new["row_hash"]))]
        df = pd.concat([old, new], ignore_index=True) if len(old) else new
        tmp = self.results_path.with_suffix(".parquet.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.results_path)
        tmp_csv = self.out_dir / (self.CSV + ".tmp")
        df.to_csv(tmp_csv, index=False)
        os.replace(tmp_csv, self.out_dir / self.CSV)
        self._df = df

    def append_captions(self, records: Iterable[dict[str, Any]]) -> None:
        """Append per-image caption records (one JSON line each, one write call)."""
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in records)
        if not text:
            return
        with open(self.out_dir / self.CAPTIONS, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    def captions(self):
        """Per-image captions as a DataFrame (``row_hash``, ``image_id``, ``caption``, ...);
        malformed trailing lines of an interrupted append are skipped, duplicates dropped."""
        import pandas as pd

        path = self.out_dir / self.CAPTIONS
        records = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        df = pd.DataFrame(records)
        if not df.empty:
            df = df.drop_duplicates(["row_hash", "image_id"], keep="last").reset_index(drop=True)
        return df


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _scalarise(row: dict[str, Any]) -> dict[str, Any]:
    """Dict / list values become JSON strings (parquet-friendly, CSV-readable)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict | list | tuple):
            out[k] = json.dumps(v, sort_keys=True, default=_json_default)
        else:
            out[k] = v
    return out
