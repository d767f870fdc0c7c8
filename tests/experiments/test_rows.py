"""ResultsStore under damage: recovery from results.csv, skipped caption lines, schema
errors, the lock taken before the table is read."""

import json
import warnings

import pandas as pd
import pytest

from collab_infer.errors import CollabInferError
from experiments.rows import ResultsStore, ResultsStoreWarning

ROWS = [
    {"row_hash": "1234567890123456", "bleu4": 0.5, "k": 4, "model_id": "0000000000000001"},
    {"row_hash": "12e4567890abcdef", "bleu4": 0.25, "k": 8, "model_id": "12e4"},
    {"row_hash": "ffff000011112222", "bleu4": 0.75, "k": None, "model_id": "abc"},
]


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path / "out")
    s.append(ROWS)
    return s


def _damage(path, how):
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"not a parquet file\n" * 10)


class TestRecovery:
    @pytest.mark.parametrize("how", ["truncated", "empty", "garbage"])
    def test_damaged_parquet_rebuilt_from_csv(self, store, how):
        _damage(store.results_path, how)
        fresh = ResultsStore(store.out_dir)
        with pytest.warns(
            ResultsStoreWarning, match="rebuilt it from results.csv: 3 rows recovered"
        ):
            table = fresh.table()
        assert table["row_hash"].tolist() == [r["row_hash"] for r in ROWS]
        assert table["bleu4"].tolist() == [0.5, 0.25, 0.75]
        # digests stay text (not 1.2e+19 or 120000.0) and the parquet is readable again
        assert table["model_id"].tolist() == ["0000000000000001", "12e4", "abc"]
        assert (
            pd.read_parquet(store.results_path)["row_hash"].tolist() == table["row_hash"].tolist()
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert ResultsStore(store.out_dir).done() == {r["row_hash"] for r in ROWS}

    def test_append_after_damage_keeps_recovered_rows(self, store):
        _damage(store.results_path, "truncated")
        with pytest.warns(ResultsStoreWarning, match="3 rows recovered"):
            ResultsStore(store.out_dir).append([{"row_hash": "new", "bleu4": 1.0, "k": 2}])
        assert len(ResultsStore(store.out_dir).table()) == 4

    def test_damaged_parquet_without_csv(self, store):
        _damage(store.results_path, "empty")
        store.csv_path.unlink()
        with pytest.raises(CollabInferError, match=r"cannot be read .*no results.csv to rebuild"):
            ResultsStore(store.out_dir).table()

    def test_damaged_parquet_and_csv(self, store):
        _damage(store.results_path, "garbage")
        store.csv_path.write_bytes(b'"unclosed\n')
        with pytest.raises(CollabInferError, match="cannot rebuild it either.*move both"):
            ResultsStore(store.out_dir).table()

    def test_missing_parquet_is_an_empty_table(self, store):
        store.results_path.unlink()
        assert ResultsStore(store.out_dir).done() == set()

    def test_table_without_row_hash(self, tmp_path):
        pd.DataFrame({"hash": ["a"], "bleu4": [0.1]}).to_parquet(tmp_path / "results.parquet")
        with pytest.raises(
            CollabInferError, match=r"has no 'row_hash' column \(columns: hash, bleu4\).*move it"
        ):
            ResultsStore(tmp_path).done()


class TestCaptions:
    def test_bad_lines_skipped_and_counted(self, tmp_path):
        s = ResultsStore(tmp_path)
        s.append_captions([{"row_hash": "a", "image_id": str(i), "caption": "x"} for i in range(3)])
        with open(tmp_path / "captions.jsonl", "ab") as fh:
            fh.write(b'{"row_hash": "a", "image_id": "9", "caption": "caf\xe9"}\n')  # latin-1
            fh.write(b'{"row_hash": "a", "image_id": "8", "cap\n')  # garbled mid-file
            fh.write(b"[1, 2]\n")  # JSON, but not a caption record
        s.append_captions([{"row_hash": "b", "image_id": "0", "caption": "\u00e9t\u00e9"}])
        with pytest.warns(
            ResultsStoreWarning,
            match=r"skipped 3 of 7 lines \(1 not UTF-8, 2 not a JSON caption record\)",
        ):
            caps = s.captions()
        assert caps["image_id"].tolist() == ["0", "1", "2", "0"]
        assert caps["caption"].iloc[-1] == "\u00e9t\u00e9"

    def test_clean_file_no_warning(self, tmp_path):
        s = ResultsStore(tmp_path)
        s.append_captions([{"row_hash": "a", "image_id": "0", "caption": "x"}])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(s.captions()) == 1


class TestLockBeforeRead:
    def test_row_appended_by_another_writer_is_kept(self, tmp_path):
        a = ResultsStore(tmp_path)
        a.append([{"row_hash": "r1", "x": 1.0}])
        assert a.done() == {"r1"}  # a's cached table now
        b = ResultsStore(tmp_path)  # another writer (process) in between
        b.append([{"row_hash": "r2", "x": 2.0}])
        a.append([{"row_hash": "r3", "x": 3.0}])
        assert ResultsStore(tmp_path).done() == {"r1", "r2", "r3"}

    def test_table_reread_when_replaced(self, tmp_path):
        a = ResultsStore(tmp_path)
        a.append([{"row_hash": "r1"}])
        ResultsStore(tmp_path).append([{"row_hash": "r2"}])
        assert a.done() == {"r1", "r2"}


class TestFolder:
    def test_out_is_a_file(self, tmp_path):
        f = tmp_path / "results.txt"
        f.write_text("x")
        with pytest.raises(CollabInferError, match="exists and is not a folder"):
            ResultsStore(f)

    def test_parent_is_a_file(self, tmp_path):
        f = tmp_path / "file"
        f.write_text("x")
        with pytest.raises(CollabInferError, match="a part of that path is a file"):
            ResultsStore(f / "sub")

    def test_json_columns_round_trip(self, tmp_path):
        ResultsStore(tmp_path).append([{"row_hash": "a", "params": {"p": 1}}])
        _damage(tmp_path / "results.parquet", "empty")
        with pytest.warns(ResultsStoreWarning):
            t = ResultsStore(tmp_path).table()
        assert json.loads(t["params"].iloc[0]) == {"p": 1}
