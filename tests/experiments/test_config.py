import pytest
import yaml

from collab_infer.errors import CollabInferError
from experiments.config import BudgetSpec, expand_rows, load_config

BASE = {
    "name": "t",
    "schemes": [
        {"reducer": "kmeans", "budgets": {"k": [2, 4]}, "number_formats": ["fp16", "int8"]},
        {"reducer": "full"},
        {"kind": "image", "codec": "jpeg", "qualities": [10, 50]},
    ],
    "channels": [{"name": "ideal"}, {"name": "erasure", "sweep": {"loss_rate": [0.0, 0.1]}}],
    "seeds": [0, 1],
}


def _with(**over):
    d = {**BASE, **over}
    return d


class TestValidation:
    @pytest.mark.parametrize(
        ("data", "match"),
        [
            (_with(schemes=[{"reducer": "kmeans"}]), r"schemes\.0\.tokens: .*needs budgets"),
            (
                _with(schemes=[{"reducer": "kmeans", "budgets": {"k": [1], "ratio": [0.1]}}]),
                r"schemes\.0\.tokens\.budgets: .*exactly one of k or ratio",
            ),
            (
                _with(schemes=[{"reducer": "random", "budgets": {"ratio": [1.5]}}]),
                r"budgets: .*ratio values must lie in \(0, 1\]",
            ),
            (
                _with(schemes=[{"reducer": "kmeans", "budgets": {"k": [0]}}]),
                r"k values must be >= 1",
            ),
            (
                _with(schemes=[{"reducer": "full", "budgets": {"k": [1]}}]),
                r"reducer 'full' sends all N tokens",
            ),
            (
                _with(schemes=[{"kind": "image", "qualities": [0]}]),
                r"schemes\.0\.image\.qualities: .*\[1, 100\]",
            ),
            (
                _with(schemes=[{"kind": "video", "qualities": [1]}]),
                r"schemes\.0: .*'tokens', 'image'",
            ),
            (_with(schemes=[]), r"schemes: .*at least 1"),
            (
                _with(generation={"num_beams": 0}),
                r"generation\.num_beams: .*greater than or equal to 1",
            ),
            (_with(seeds=[1, 1]), r"seeds: .*unique"),
            (_with(bogus=1), r"bogus: Extra inputs are not permitted"),
            (_with(name="a b"), r"name: String should match pattern"),
            (
                _with(channels=[{"name": "erasure", "params": {"p": 1}, "sweep": {"p": [0.1]}}]),
                r"channels\.0: .*both fixed \(params\) and swept",
            ),
            (
                _with(channels=[{"name": "erasure", "sweep": {"p": []}}]),
                r"sweep list 'p' must not be empty",
            ),
            (_with(dataset={"n": 0}), r"dataset\.n: .*greater than or equal to 1"),
            (_with(model={"split": "middle"}), r"model\.split: "),
        ],
    )
    def test_errors_name_field(self, data, match):
        with pytest.raises(CollabInferError, match=match):
            load_config(data)

    def test_missing_file(self, tmp_path):
        with pytest.raises(CollabInferError, match="does not exist"):
            load_config(tmp_path / "nope.yaml")

    def test_not_a_mapping(self, tmp_path):
        p = tmp_path / "c.yaml"
        p.write_text("- 1\n- 2\n")
        with pytest.raises(CollabInferError, match="mapping at top level"):
            load_config(p)

    def test_yaml_roundtrip_and_quick(self, tmp_path):
        p = tmp_path / "c.yaml"
        p.write_text(yaml.safe_dump({**BASE, "dataset": {"n": 50}, "quick": {"dataset": {"n": 2}}}))
        assert load_config(p).dataset.n == 50
        q = load_config(p, quick=True)
        assert q.dataset.n == 2 and q.quick is None
        assert q.config_hash() != load_config(p).config_hash()

    def test_bad_quick_override_is_reported(self):
        with pytest.raises(CollabInferError, match=r"(?s)quick overrides.*dataset\.n"):
            load_config({**BASE, "quick": {"dataset": {"n": -1}}}, quick=True)


class TestExpandRows:
    def test_row_count_and_unique_hashes(self):
        rows = expand_rows(load_config(BASE), n_tokens=16)
        # tokens: kmeans 2 budgets x 2 formats + full 1 -> 5; image 2 qualities -> 7
        # channels: ideal + erasure x 2 -> 3; seeds 2 -> 7 * 3 * 2
        assert len(rows) == 42
        assert len({r.row_hash for r in rows}) == 42

    def test_hash_is_stable_and_ignores_config_name(self):
        a = expand_rows(load_config(BASE), 16)
        b = expand_rows(load_config({**BASE, "name": "other"}), 16)
        assert [r.row_hash for r in a] == [r.row_hash for r in b]
        c = expand_rows(load_config({**BASE, "dataset": {"n": 3}}), 16)
        assert a[0].row_hash != c[0].row_hash
        d = expand_rows(load_config(BASE), 16, model_id="trained")
        assert a[0].row_hash != d[0].row_hash

    def test_analog_rows_have_no_number_format_product(self):
        cfg = load_config(
            _with(
                schemes=[
                    {"reducer": "kmeans", "budgets": {"k": [2]}, "number_formats": ["fp16", "int8"]}
                ],
                channels=[{"name": "analog", "sweep": {"snr_db": [0, 10]}}],
                seeds=[0],
            )
        )
        rows = expand_rows(cfg, 16)
        assert [(r.number_format, r.channel_params["snr_db"]) for r in rows] == [
            ("analog", 0),
            ("analog", 10),
        ]

    def test_image_scheme_over_analog_refused(self):
        cfg = load_config(_with(channels=[{"name": "analog", "sweep": {"snr_db": [0]}}]))
        with pytest.raises(CollabInferError, match="cannot use the analog channel"):
            expand_rows(cfg, 16)


class TestBudget:
    def test_ratio_resolves_against_n(self):
        assert BudgetSpec(ratio=[8 / 256, 0.5, 1.0]).resolve(16) == [1, 8, 16]
        assert BudgetSpec(ratio=[8 / 256]).resolve(256) == [8]

    def test_k_capped_at_n(self):
        assert BudgetSpec(k=[4, 64]).resolve(16) == [4, 16]
