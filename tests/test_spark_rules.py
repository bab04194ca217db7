"""``rules --engine spark``: the family counted on the executors gives the polars engine's rules, exactly.

Real PySpark in ``local[2]``, the session of :mod:`tests.test_spark` (same
xdist group, so one worker holds the JVM); skipped without pyspark or Java.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import segment.rules._spark as spark_rules
from segment.errors import SegmentError, SegmentWarning
from segment.io import read_table
from segment.rules import rules
from tests.conftest import FIXTURES, ROOT, shared
from tests.test_spark import spark  # noqa: F401  (the shared session fixture)

pytestmark = pytest.mark.xdist_group("spark")
TELCO = ROOT / "examples" / "data" / "telco_churn.csv"


def _snapshot(seed: int = 3, n: int = 400) -> pl.DataFrame:
    """Every kind of item column: text categories with blanks, a flag with a not-applicable level, 0/1 ints,
    codes, a whole-number column binned by ties, numbers with NaN and nulls, numbers stored as text."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.5, 0.3, 0.2])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n)
    tv = np.where(internet == "No", "No internet service", rng.choice(["Yes", "No"], n))
    charges = np.round(rng.gamma(4.0, 15.0, n), 2)
    charges[rng.random(n) < 0.03] = np.nan
    churn_p = 0.1 + 0.35 * (contract == "Month-to-month") + 0.15 * (internet == "Fiber optic")
    plan = rng.choice(["basic", "plus", "max", " "], n, p=[0.4, 0.3, 0.25, 0.05])
    return pl.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "contract": contract,
        "internet": internet,
        "tv": tv,
        "senior": (rng.random(n) < 0.2).astype(np.int64),
        "area": rng.choice([408, 415, 510], n),
        "tenure": rng.integers(0, 72, n),
        "charges": pl.Series(charges).fill_nan(None).to_list(),
        "score": charges * 1.5,  # NaN stays NaN: empty, like null
        "total": [None if k % 37 == 0 else f" {v:.1f}" for k, v in enumerate(charges * 10)],
        "plan": plan,
        "churn": np.where(rng.random(n) < churn_p, "Yes", "No"),
    })


def _ours(seen: list) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, SegmentWarning)]


def _both(spark, frame: pl.DataFrame, tmp_path: Path, **options):  # noqa: F811
    """Both engines on the same rows; tables, items, counts, parameters and warnings must be equal."""
    path = tmp_path / "snapshot.parquet"
    frame.write_parquet(path)
    with warnings.catch_warnings(record=True) as seen_polars:
        warnings.simplefilter("always")
        expected = rules(frame, **options)
    with warnings.catch_warnings(record=True) as seen_spark:
        warnings.simplefilter("always")
        got = rules(spark.read.parquet(str(path)), **options)
    assert _ours(seen_spark) == _ours(seen_polars)
    assert_frame_equal(got.items, expected.items)
    assert got.stats == expected.stats
    assert_frame_equal(got.table, expected.table)
    assert got.params.pop("engine") == "spark"
    expected.params.pop("engine")
    assert got.params == expected.params
    return expected


@pytest.mark.parametrize("options", [
    {},
    {"max_len": 2, "with_no": False},
    {"min_support": 0.05, "correction": "bh", "negative": True},
    {"min_count": 12, "correction": "bonferroni", "keep_redundant": True, "keep_insignificant": True,
     "merge_same": False, "min_lift": 0.0},
    {"max_len": 4, "productive": True, "breaks": {"charges": [40.0, 80.0]}, "categorical": ["senior"],
     "max_categories": 0, "correction": "none", "bins": 3},
], ids=["default", "pairs-yes-only", "support-bh-negative", "count-bonferroni-keep-all", "len4-breaks-codes"])
def test_rules_equal_on_both_engines(spark, tmp_path, options):  # noqa: F811
    result = _both(spark, _snapshot(), tmp_path, target="churn", **options)
    assert result.table.height > 0


def test_bundled_telco_snapshot_gives_the_same_rules(spark, tmp_path):  # noqa: F811
    frame = read_table(TELCO).frame.collect()
    result = _both(spark, frame, tmp_path, target="Churn", id="customerID")
    assert "Contract=Month-to-month" in result.table["antecedent"].to_list()


def test_shared_bigml_churn_gives_the_same_rules(spark, tmp_path):  # noqa: F811
    """A real snapshot of another shape: state codes, area codes, collinear minutes and charges (same_as)."""
    raw = read_table(shared("bigml-churn", "churn-bigml-80.csv")).frame.collect()
    frame = raw.with_row_index("customer_id").with_columns(pl.col("customer_id").cast(pl.String))
    result = _both(spark, frame, tmp_path, target="Churn", max_len=2, negative=True)
    assert result.stats["merged_same_customers"] > 0


def test_the_driver_collects_no_customer_rows(spark, tmp_path, monkeypatch, driver_rows):  # noqa: F811
    """Ten times the customers (each base customer repeated under new ids): the same rows reach the driver."""
    # Few exact distinct values, so that number columns take tie_breaks' windowed path, as on big data.
    monkeypatch.setattr(spark_rules, "EXACT_DISTINCT", 20)
    base = _snapshot(seed=5, n=300).drop("score", "total")
    rows = {}
    for copies in (1, 10):
        frame = pl.concat([base.with_columns(pl.col("customer_id") + f"-{k}") for k in range(copies)])
        frame.write_parquet(tmp_path / f"x{copies}.parquet")
        driver_rows.calls.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Every rule kept: with more customers more rules are significant, and each written rule's
            # same-customers digest is one row; the rules passing the thresholds are the same.
            result = rules(spark.read.parquet(str(tmp_path / f"x{copies}.parquet")), target="churn",
                           min_support=0.02, keep_insignificant=True, keep_redundant=True)
        rows[copies] = (driver_rows.total, driver_rows.largest)
        assert result.stats["customers"] == 300 * copies
        assert result.table.height > 0
    # The same tables: once the column is longer than tie_breaks' window its percentiles take one query of
    # one row per binned column (2 here); 2,700 more customers bring back no more rows than that.
    assert rows[10][1] == rows[1][1]
    assert 0 <= rows[10][0] - rows[1][0] <= 2
    assert 0 < rows[1][0] < 3000  # candidates and counts, not 3,000 customers


@pytest.mark.parametrize("case", [
    ("rules_duplicate_id.csv", {}),
    ("rules_empty_id.csv", {}),
    ("rules_target_empty.csv", {}),
    ("rules_target_constant.csv", {}),
    ("rules_target_unclear.csv", {}),
    ("rules_all_empty_column.csv", {}),
    ("rules_numeric_one_value.csv", {}),
    ("rules_small.csv", {"id": "custmer_id"}),
    ("rules_small.csv", {"target": "chrun"}),
    ("rules_small.csv", {"items": ["contrcat"]}),
    ("rules_small.csv", {"exclude": ["tvv"]}),
    ("rules_small.csv", {"target": "churn=Maybe"}),
    ("rules_small.csv", {"breaks": {"contract": [1.0]}}),
    ("rules_small.csv", {"categorical": ["nope"]}),
    ("rules_small.csv", {"min_count": 100_000}),
], ids=lambda c: f"{c[0]}-{'-'.join(c[1]) or 'plain'}")
def test_errors_equal_the_polars_engine(spark, tmp_path, case):  # noqa: F811
    name, options = case
    frame = read_table(FIXTURES / name).frame.collect()
    path = tmp_path / "in.parquet"
    frame.write_parquet(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SegmentError) as on_polars:
            rules(frame, **options)
        with pytest.raises(SegmentError) as on_spark:
            rules(spark.read.parquet(str(path)), **options)
    assert type(on_spark.value) is type(on_polars.value)
    assert str(on_spark.value) == str(on_polars.value)


def test_a_date_column_is_refused_like_polars(spark, tmp_path):  # noqa: F811
    frame = _snapshot(n=60).with_columns(signup=pl.date(2024, 1, 1))
    frame.write_parquet(tmp_path / "d.parquet")
    with pytest.raises(SegmentError) as on_polars:
        rules(frame, target="churn")
    with pytest.raises(SegmentError) as on_spark:
        rules(spark.read.parquet(str(tmp_path / "d.parquet")), target="churn")
    assert str(on_spark.value) == str(on_polars.value)
    assert "signup" in str(on_spark.value)


def test_cli_writes_the_same_files_on_both_engines(spark, tmp_path, cli):  # noqa: F811
    path = tmp_path / "snap.parquet"
    _snapshot().write_parquet(path)
    for engine in ("bitset", "spark"):
        result = cli(["rules", path, "--engine", engine, "--spark-master", "local[2]", "-o",
                      tmp_path / f"{engine}.csv", "--item-table", tmp_path / f"{engine}-items.csv", "-q"]
                     if engine == "spark" else ["rules", path, "-o", tmp_path / f"{engine}.csv",
                                                "--item-table", tmp_path / f"{engine}-items.csv", "-q"])
        assert result.exit_code == 0, result.stderr
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "bitset.csv").read_bytes()
    assert (tmp_path / "spark-items.csv").read_bytes() == (tmp_path / "bitset-items.csv").read_bytes()


@pytest.mark.parametrize("flags, named", [
    (["--text", "plan"], "--text"),
    (["--complaints", "c.csv", "--text", "note"], "--text"),
    (["--long"], "--long"),
])
def test_cli_refuses_what_spark_cannot_honour(tmp_path, cli, flags, named):
    path = tmp_path / "snap.parquet"
    _snapshot(n=50).write_parquet(path)
    out = tmp_path / "rules.csv"
    result = cli(["rules", path, "--engine", "spark", *flags, "-o", out])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "--engine spark" in lines[0]
    assert not out.exists()


def test_cli_refuses_an_empty_input_like_polars(spark, tmp_path, cli):  # noqa: F811
    path = tmp_path / "empty.parquet"
    _snapshot(n=10).head(0).write_parquet(path)
    on_polars = cli(["rules", path])
    on_spark = cli(["rules", path, "--engine", "spark", "--spark-master", "local[2]"])
    assert on_spark.exit_code == on_polars.exit_code == 2
    assert on_spark.stderr.strip() == on_polars.stderr.strip()
