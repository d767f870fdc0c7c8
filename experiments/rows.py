"""Append-only, resumable results store of a sweep output folder.

Files in ``out_dir``:

- ``results.parquet`` (+ ``results.csv``, the same table): one row per finished
  :class:`experiments.config.RowSpec`, keyed by ``row_hash``. Each append takes the
  folder's lock, re-reads the table if another process replaced it since it was last
  read, rewrites the file to a temporary name and atomically renames it, so an interrupt
  (Ctrl-C, kill) never leaves a half-written table and loses no finished row.
- ``captions.jsonl``: the per-image captions of every finished row (for the bootstrap
  and inspection), appended before the row itself; duplicate lines from an interrupted
  append are dropped on read (last one wins).

Damage is survived where the data allows it, always with a :class:`ResultsStoreWarning`
that says what was lost: an unreadable ``results.parquet`` (truncated, 0 bytes, not
parquet) is rebuilt from ``results.csv``; caption lines that are not UTF-8 or not a
caption record are skipped and counted. A table without a ``row_hash`` column (not
written by this store) is a :class:`~collab_infer.errors.CollabInferError` naming the
column and the fix. A missing ``results.parquet`` is an empty table (delete it, and
``results.csv``, to recompute every row).
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from collab_infer.errors import CollabInferError

__all__ = ["ResultsStore", "ResultsStoreWarning"]

# lock files held by this process: path -> [file object, depth, token of this holding];
# re-entrant per process
_HELD: dict[str, list] = {}


class ResultsStoreWarning(UserWarning):
    """Part of a results folder was damaged and skipped or rebuilt (the message counts it)."""


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
        self.out_dir = _make_folder(self.out_dir)
        self._df = None
        self._stamp: tuple | None = None  # file identity of the table self._df came from
        self._held_token: object | None = None  # lock holding during which _df was read

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on the folder (``.lock``, ``fcntl.flock``), re-entrant
        within one process. A second process writing the same folder would interleave
        appends and drop rows, so it is refused with a clear error instead."""
        path = self._lock_path()
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
        _HELD[path] = [fh, 1, object()]
        try:
            yield
        finally:
            del _HELD[path]
            fh.close()

    @property
    def results_path(self) -> Path:
        return self.out_dir / self.RESULTS

    @property
    def csv_path(self) -> Path:
        return self.out_dir / self.CSV

    def table(self):
        """All finished rows as a pandas DataFrame (empty if none).

        Cached while ``results.parquet`` is the same file (inode, size, mtime); a table
        another process replaced is read again.

        :raises CollabInferError: the table has no ``row_hash`` column, or it is damaged
            and ``results.csv`` cannot rebuild it.
        """
        import pandas as pd

        stamp = self._file_stamp()
        if self._df is not None and stamp == self._stamp:
            return self._df
        empty = stamp is None
        df = pd.DataFrame({"row_hash": pd.Series([], dtype=str)}) if empty else self._read()
        self._remember(df)
        return df

    def done(self) -> set[str]:
        """Hashes of the finished rows."""
        return set(self.table()["row_hash"].astype(str))

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add finished rows (dicts of scalars) and rewrite parquet + CSV atomically,
        holding the folder's lock from the read of the old table to the rename.

        Rows whose ``row_hash`` is already present replace the old ones."""
        import pandas as pd

        new = pd.DataFrame([_scalarise(r) for r in rows])
        if new.empty:
            return
        if "row_hash" not in new:
            raise ValueError("every results row needs a 'row_hash'")
        with self.lock():
            if self._held_token is not _HELD.get(self._lock_path(), [None] * 3)[2]:
                self._df = None  # read before this lock was taken: read it again
            old = self.table()
            old = old[~old["row_hash"].isin(set(new["row_hash"]))]
            df = pd.concat([old, new], ignore_index=True) if len(old) else new
            self._write(df)

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
        """Per-image captions as a DataFrame (``row_hash``, ``image_id``, ``caption``, ...).

        Lines that are not UTF-8, not JSON, or not a caption record (an object with
        ``row_hash`` and ``image_id``) are skipped, with one :class:`ResultsStoreWarning`
        counting them; duplicates are dropped (the last one wins)."""
        import pandas as pd

        path = self.out_dir / self.CAPTIONS
        records: list[dict] = []
        not_utf8 = malformed = total = 0
        if path.is_file():
            for line in path.read_bytes().split(b"\n"):
                if not line.strip():
                    continue
                total += 1
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    not_utf8 += 1
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError:
                    malformed += 1
                    continue
                if not isinstance(rec, dict) or "row_hash" not in rec or "image_id" not in rec:
                    malformed += 1
                    continue
                records.append(rec)
        if not_utf8 or malformed:
            warnings.warn(
                f"{path}: skipped {not_utf8 + malformed} of {total} lines ({not_utf8} not "
                f"UTF-8, {malformed} not a JSON caption record); the captions of those images "
                "are missing from the bootstrap and the examples (an interrupted append leaves "
                "one such line at the end, which is harmless)",
                ResultsStoreWarning,
                stacklevel=2,
            )
        df = pd.DataFrame(records)
        if not df.empty:
            df = df.drop_duplicates(["row_hash", "image_id"], keep="last").reset_index(drop=True)
        return df

    # ---------------------------------------------------------------- internals
    def _file_stamp(self) -> tuple | None:
        try:
            st = self.results_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self):
        """``results.parquet``, or the table rebuilt from ``results.csv`` if it is damaged."""
        import pandas as pd
        import pyarrow as pa

        try:
            df = pd.read_parquet(self.results_path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            df = self._recover(exc)
        if "row_hash" not in df.columns:
            shown = ", ".join(map(str, list(df.columns)[:8])) or "none"
            raise CollabInferError(
                f"{self.results_path} has no 'row_hash' column (columns: {shown}"
                f"{', ...' if len(df.columns) > 8 else ''}), so it was not written by "
                "collab-infer's results store and its rows cannot be matched: move it (and "
                f"{self.CSV}) out of {self.out_dir}, or choose another --out folder"
            )
        return df

    def _recover(self, exc: BaseException):
        """The table rebuilt from ``results.csv`` after ``results.parquet`` failed to read."""
        import pandas as pd

        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        damaged = f"{self.results_path} cannot be read ({reason})"
        if not self.csv_path.is_file():
            raise CollabInferError(
                f"{damaged} and there is no {self.CSV} to rebuild it from: move "
                f"{self.RESULTS} out of {self.out_dir} (its rows will be recomputed)"
            ) from exc
        try:
            header = pd.read_csv(self.csv_path, nrows=0).columns
            text_cols = {c: str for c in header if _is_text_column(c)}
            df = pd.read_csv(self.csv_path, dtype=text_cols, keep_default_na=True)
        except (OSError, ValueError, pd.errors.ParserError) as csv_exc:
            raise CollabInferError(
                f"{damaged}, and {self.csv_path} cannot rebuild it either ({csv_exc}): move "
                f"both out of {self.out_dir} (their rows will be recomputed)"
            ) from exc
        if "row_hash" in df.columns:
            df = df[df["row_hash"].notna()].reset_index(drop=True)
        warnings.warn(
            f"{damaged}; rebuilt it from {self.CSV}: {len(df)} rows recovered (rows finished "
            "after the CSV was last written, if any, will be recomputed)",
            ResultsStoreWarning,
            stacklevel=3,
        )
        if "row_hash" in df.columns:
            # another process holding the lock is writing: it rewrites the table itself
            with contextlib.suppress(CollabInferError), self.lock():
                self._write(df)
        return df

    def _write(self, df) -> None:
        tmp = self.results_path.with_suffix(".parquet.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.results_path)
        tmp_csv = self.out_dir / (self.CSV + ".tmp")
        df.to_csv(tmp_csv, index=False)
        os.replace(tmp_csv, self.csv_path)
        self._remember(df)

    def _remember(self, df) -> None:
        held = _HELD.get(self._lock_path())
        self._df, self._stamp = df, self._file_stamp()
        self._held_token = held[2] if held else None

    def _lock_path(self) -> str:
        return str((self.out_dir / ".lock").resolve())


def _make_folder(path: Path) -> Path:
    """Create the output folder, or a CollabInferError saying why it cannot be one."""
    if path.exists() and not path.is_dir():
        raise CollabInferError(
            f"output folder {path} exists and is not a folder (it is a file): choose another "
            "--out folder, or move the file away"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise CollabInferError(
            f"cannot create output folder {path}: a part of that path is a file; choose "
            "another --out folder"
        ) from None
    except OSError as exc:
        raise CollabInferError(
            f"cannot create output folder {path}: {exc.strerror or exc}; choose another --out "
            "folder"
        ) from None
    return path


def _is_text_column(name: str) -> bool:
    """Columns holding hex digests or ids: read back from CSV as text, never as numbers."""
    return name.endswith(("hash", "_id", "_desc")) or name in ("date", "versions")


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
