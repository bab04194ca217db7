"""``--engine spark``: both engines give the same result, on a real PySpark in ``local[2]`` mode.

One session for the whole run (few shuffle partitions, no UI), and every
test in one xdist group, so that one worker holds the JVM. Without pyspark
or a Java runtime these tests skip with one line; ``make test`` installs
pyspark from the pinned set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from segment import binning
from segment import spark as engine
from segment.columns import require_columns
from segment.errors import DataError, SegmentError, SegmentWarning
from segment.rfm import rfm
from segment.validate import validate_segment
from tests.conftest import ROOT, run_segment

pytestmark = pytest.mark.xdist_group("spark")

_JAVA = bool(os.environ.get("JAVA_HOME")) or shutil.which("java") is not None
try:
    import pyspark  # noqa: F401
    _PYSPARK = True
except ImportError:
    _PYSPARK = False
needs_spark = pytest.mark.skipif(not (_JAVA and _PYSPARK),
                                 reason="needs pyspark and a Java runtime (pip install '.[spark]', Java 17)")


@pytest.fixture(scope="session")
def spark():
    if not (_JAVA and _PYSPARK):
        pytest.skip("needs pyspark and a Java runtime (pip install '.[spark]', Java 17)")
    session = engine.session("local[2]", [("spark.sql.shuffle.partitions", "2"), ("spark.default.parallelism", "2"),
                                          ("spark.ui.enabled", "false"), ("spark.python.worker.reuse", "true")])
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _transactions(seed: int = 1, n: int = 4000, customers: int = 600) -> pl.DataFrame:
    """Ties on every metric (whole-day dates, frequency 1 for many, round amounts), returns, a customer with returns only."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, customers, n)
    amount = np.round(rng.gamma(2.0, 15.0, n), 1) * np.where(rng.random(n) < 0.05, -1, 1)
    amount[:50] = 20.0  # a tie block on monetary
    frame = pl.DataFrame({
        "customer_id": [f"c{i:04d}" for i in ids],
        "date": [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 200, n)],
        "amount": amount,
    })
    only_returns = pl.DataFrame({"customer_id": ["zz"], "date": [date(2024, 3, 1)], "amount": [-5.0]})
    return pl.concat([frame, only_returns])


def assert_same(polars_frame: pl.DataFrame, spark_frame: pl.DataFrame) -> None:
    """Integers and labels exactly, floats to 1e-9; column types may widen (Spark has no unsigned integers)."""
    assert polars_frame.columns == spark_frame.columns
    assert polars_frame.height == spark_frame.height
    for name in polars_frame.columns:
        a, b = polars_frame[name], spark_frame[name]
        if a.dtype.is_float():
            assert_frame_equal(a.to_frame(), b.cast(pl.Float64).to_frame(), abs_tol=1e-9, rel_tol=1e-9)
        else:
            assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), name


@needs_spark
@pytest.mark.parametrize("options", [
    {},
    {"frequency": "days", "monetary": "mean", "returns": "drop", "bins": 4, "segments": None, "as_of": "2024-06-01"},
    {"breaks": {"r": [10, 30, 60, 120], "f": [2, 3, 4, 6]}},
], ids=["defaults", "days-mean-drop-as-of", "given-breaks"])
def test_rfm_is_the_same_on_both_engines(spark, options):
    tx = _transactions()
    with pytest.warns(UserWarning):
        expected = rfm(tx, **options)
    with pytest.warns(UserWarning):
        got = rfm(spark.createDataFrame(tx.to_arrow()), **options)
    assert got.breaks == expected.breaks  # exactly: the same tie-respecting rule on the same counts
    assert got.as_of == expected.as_of and got.stats == expected.stats
    assert_same(expected.table, engine.to_polars(got.table))
    assert_same(expected.thresholds, got.thresholds)


@needs_spark
@pytest.mark.parametrize("bins", [3, 5, 10])
def test_windowed_breaks_equal_the_polars_breaks_with_huge_tie_blocks(spark, bins):
    # Many distinct values (the windowed path, forced by exact_distinct) and tie blocks of a
    # third and a tenth of the rows, which move every later boundary's target.
    rng = np.random.default_rng(bins)
    values = np.concatenate([np.round(rng.lognormal(3, 1, 6000), 2), np.full(3500, 25.0), np.full(1000, 400.0),
                             np.full(3, 1e6)])
    frame = spark.createDataFrame(pl.DataFrame({"v": values}).to_arrow()).cache()
    expected = binning.balanced_breaks(pl.Series(values), bins)
    # 32 rows: at 5 and 10 bins the tie blocks move later targets out of their first windows (7-9 passes).
    for window in (32,):
        assert engine.tie_breaks(frame, "v", bins, exact_distinct=50, window=window) == expected
    assert engine.tie_breaks(frame, "v", bins) == expected  # the counted path


@needs_spark
def test_windowed_breaks_bring_the_same_few_rows_to_the_driver_for_ten_times_the_customers(spark, driver_rows):
    # Regression: windows were a share of the column (0.4% of the rows each), so the
    # values collected to the driver grew with the customers.
    rng = np.random.default_rng(7)
    collected = []
    for n in (10_000, 100_000):
        values = rng.lognormal(3, 1, n)
        frame = spark.createDataFrame(pl.DataFrame({"v": values}).to_arrow()).cache()
        driver_rows.calls.clear()
        assert engine.tie_breaks(frame, "v", 5, exact_distinct=100, window=128) == \
            binning.balanced_breaks(pl.Series(values), 5)
        collected.append(driver_rows.total)
    # The old windows brought 0.4% of the rows per boundary: 2,000 values at 100,000.
    assert collected[1] <= collected[0] * 1.5 and collected[1] < 6 * 128 + 200, collected


def _customers(seed: int, small: bool) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    seg = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.29, 0.01] if small else [0.3, 0.3, 0.2, 0.2])
    lift = np.select([seg == "a", seg == "b"], [1.4, 1.0], 0.9)
    return pl.DataFrame({
        "plan": seg,
        "churn": np.where(rng.random(n) < 0.2 * lift, "Yes", "No"),
        "arpu": np.round(rng.gamma(2.0, 20.0, n) * lift, 0),  # ties: whole numbers
        "region": rng.choice(["north", "south", "east"], n),
    }).with_columns(arpu=pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise(pl.col("arpu")))


@needs_spark
@pytest.mark.parametrize("small", [False, True], ids=["four-segments", "one-too-small"])
def test_validate_segment_is_the_same_on_both_engines(spark, small):
    df = _customers(7, small)
    options = {"segment": "plan", "outcomes": ["churn", "arpu", "region"]}
    with pytest.warns(UserWarning):
        expected = validate_segment(df, **options)
    with pytest.warns(UserWarning):
        got = validate_segment(spark.createDataFrame(df.to_arrow()), **options)
    assert got.verdict == expected.verdict and got.reasons == expected.reasons
    assert got.stats == expected.stats and got.merges == expected.merges
    for name in ("outcomes", "pairs", "merge_map", "profile", "standouts"):
        assert_same(getattr(expected, name), getattr(got, name))


@needs_spark
def test_missing_column_gives_the_same_message_on_both_engines(spark, tmp_path, cli):
    path = tmp_path / "tx.parquet"
    _transactions().write_parquet(path)
    lines = []
    for extra in ([], ["--engine", "spark", "-o", tmp_path / "out"]):
        result = cli(["rfm", path, "--amount", "amout", *extra])
        assert result.exit_code == 2
        lines.append(result.stderr)
    assert lines[0] == lines[1] and "did you mean 'amount'?" in lines[0]
    assert not (tmp_path / "out").exists()


@needs_spark
def test_cli_writes_a_parquet_directory_that_info_reads(spark, tmp_path, cli):
    path = tmp_path / "tx.parquet"
    _transactions().write_parquet(path)
    assert cli(["rfm", path, "-o", tmp_path / "polars.parquet", "-q"]).exit_code == 0
    out = tmp_path / "rfm.parquet"
    result = cli(["rfm", path, "--engine", "spark", "--spark-master", "local[2]", "-o", out,
                  "--thresholds", tmp_path / "th.csv"])
    assert result.exit_code == 0, result.stderr
    assert (out / "_SUCCESS").exists() and not list(tmp_path.glob(".rfm.parquet.*"))
    sidecar = json.loads((out / "_segment.json").read_text())
    expected = pl.read_parquet(tmp_path / "polars.parquet")
    assert sidecar["command"] == "rfm" and sidecar["options"]["engine"] == "spark"
    assert sidecar["rows"] == expected.height
    assert_same(expected, pl.read_parquet(out / "*.parquet"))
    info = cli(["info", out, "--json"])
    assert info.exit_code == 0
    record = json.loads(info.stdout)
    assert record["rows"] == expected.height and record["provenance"]["details"]["breaks"] == sidecar["details"]["breaks"]
    # validate-segment reads the directory on Spark, and its provenance: rfm's segments are made from r, f, m.
    check = cli(["validate-segment", out, "--engine", "spark", "--segment", "segment", "--outcome", "monetary",
                 "-o", tmp_path / "v.csv", "-q"])
    assert check.exit_code == 0, check.stderr
    assert "circular" in check.stderr
    # Run again over the finished directory: replaced whole.
    assert cli(["rfm", path, "--engine", "spark", "-o", out, "-q"]).exit_code == 0


def test_info_refuses_a_directory_without_success_marker(tmp_path, cli):
    half = tmp_path / "half.parquet"
    half.mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(half / "part-00000.parquet")
    result = cli(["info", half])
    assert result.exit_code == 2
    assert "no _SUCCESS marker" in result.stderr and len(result.stderr.splitlines()) == 1


@needs_spark
def test_failed_job_leaves_no_target(spark, tmp_path):
    def fail(batches):
        for batch in batches:
            raise RuntimeError("executor lost")
            yield batch

    broken = spark.range(10).mapInArrow(fail, "id long")
    with pytest.raises(Exception, match="executor lost"):
        engine.write_dataset(broken, str(tmp_path / "out.parquet"), {"command": "test"})
    assert list(tmp_path.iterdir()) == []


def _without_java() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    return env


@pytest.mark.skipif(not _PYSPARK, reason="needs pyspark (pip install '.[spark]')")
def test_missing_java_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "segment_cli", "rfm", str(tmp_path / "tx.parquet"), "--engine",
                           "spark", "-o", str(tmp_path / "out")], capture_output=True, text=True,
                          env={**_without_java(), "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --engine spark needs a Java runtime") and proc.stderr.count("\n") == 1


@pytest.mark.skipif(not (_JAVA and _PYSPARK), reason="needs pyspark and a Java runtime")
def test_unreachable_master_is_one_line_and_exit_2(tmp_path):
    proc = run_segment(["validate-segment", tmp_path / "c.parquet", "--engine", "spark", "--spark-master",
                        "spark://127.0.0.1:9", "--segment", "plan", "--outcome", "churn"])
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("error: cannot reach Spark master 'spark://127.0.0.1:9': nothing answers "
                                    "there; check --spark-master or $SEGMENT_SPARK_MASTER\n")


class _JobStopped(Exception):
    """What py4j raises when the JVM ran out of memory mid-job (its module is what the CLI looks at)."""

    __module__ = "py4j.protocol"


def test_a_job_out_of_memory_is_one_line_naming_the_settings_and_exit_2(tmp_path, cli, monkeypatch):
    # Regression: lifecycle on 100M panel rows in a 4g local JVM ended in a 60-line traceback.
    import segment.rfm

    def stopped(*args, **kwargs):
        raise _JobStopped("An error occurred while calling o259.collectToPython.\n: org.apache.spark."
                          "SparkException: Job 2 cancelled because SparkContext was shut down\n\tat org...")

    monkeypatch.setattr(segment.rfm, "rfm", stopped)
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,5\n")
    result = cli(["rfm", path, "-o", tmp_path / "out.csv"])
    assert result.exit_code == 2 and not (tmp_path / "out.csv").exists()
    line = result.stderr.strip()
    assert "\n" not in line and "SparkContext was shut down" in line and "spark.executor.memory" in line


def test_bad_spark_conf_names_the_form():
    with pytest.raises(SegmentError, match="--spark-conf takes key=value"):
        engine.parse_conf(["no-equals"])


@needs_spark
def test_spark_analysis_error_for_a_missing_column_maps_to_the_polars_message(spark):
    from pyspark.errors import AnalysisException

    frame = spark.createDataFrame(pl.DataFrame({"customer_id": ["a"], "amount": [1.0]}).to_arrow())
    with pytest.raises(AnalysisException) as caught:
        frame.select("amout").collect()
    mapped = engine.segment_error(caught.value, frame.columns)
    polars_frame = pl.DataFrame({"customer_id": ["a"], "amount": [1.0]})
    with pytest.raises(SegmentError) as on_polars:
        require_columns(polars_frame, {"amount": "amout"})
    assert str(mapped) == str(on_polars.value).replace("amount column", "column")
    assert "did you mean 'amount'?" in str(mapped)


# ------------------------------------------------------------------ cluster
@needs_spark
@pytest.mark.parametrize("options", [
    {"fit_sample": 400, "min_cluster_size": 60},
    {"fit_sample": 400, "min_cluster_size": 60, "noise": "nearest", "stability": 2, "scale": "standard",
     "selection": "leaf"},
    {"fit_sample": 500, "algorithm": "kmeans", "k": 4, "log": "none"},
    {"fit_sample": 5000, "min_cluster_size": 60, "log": "avg_data_mb,arpu"},
    {"fit_sample": 300, "min_cluster_size": 60, "drop_nulls": True},
], ids=["sampled", "nearest-stability-standard-leaf", "kmeans", "all-fitted", "drop-nulls"])
def test_cluster_is_the_same_on_both_engines(spark, options):
    from segment.cluster import cluster
    from tests.blobs import planted

    customers, _ = planted(1500, seed=3)
    customers = customers.with_columns(pl.col("avg_sms").round(0))  # ties for the medians and quartiles
    if options.get("drop_nulls"):
        customers = customers.with_columns(arpu=pl.when(pl.int_range(pl.len()) % 97 == 0).then(None)
                                           .otherwise(pl.col("arpu")))
    with warnings.catch_warnings(record=True) as polars_warnings:
        warnings.simplefilter("always")
        expected = cluster(customers, seed=5, **options)
    with warnings.catch_warnings(record=True) as spark_warnings:
        warnings.simplefilter("always")
        got = cluster(spark.createDataFrame(customers.to_arrow()), seed=5, **options)
    assert [str(w.message) for w in spark_warnings if w.category is SegmentWarning] == \
        [str(w.message) for w in polars_warnings if w.category is SegmentWarning]
    assert expected.stats["clusters"] >= 3 and expected.stats["assigned_rows"] == max(
        0, 1500 - expected.stats["rows_dropped_for_nulls"] - options["fit_sample"])
    assert got.stats == expected.stats
    assert {**got.params, "engine": None} == {**expected.params, "engine": None}
    assert_same(expected.table, engine.to_polars(got.table))
    assert_same(expected.profile, got.profile)


@needs_spark
def test_cluster_cli_on_spark_writes_a_parquet_directory_equal_to_polars(spark, tmp_path, cli):
    from tests.blobs import planted

    path = tmp_path / "customers.parquet"
    planted(800, seed=4)[0].write_parquet(path)
    common = ["--fit-sample", "300", "--min-size", "40", "-q"]
    assert cli(["cluster", path, "-o", tmp_path / "polars.parquet", "--profile", tmp_path / "p.csv",
                *common]).exit_code == 0
    result = cli(["cluster", path, "--engine", "spark", "-o", tmp_path / "spark", "--profile",
                  tmp_path / "s.csv", *common])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "spark" / engine.SUCCESS).exists()
    assert_same(pl.read_parquet(tmp_path / "polars.parquet"), pl.read_parquet(tmp_path / "spark" / "*.parquet"))
    assert_same(pl.read_csv(tmp_path / "p.csv"), pl.read_csv(tmp_path / "s.csv"))


@needs_spark
@pytest.mark.parametrize("edit, message", [
    (lambda f: pl.concat([f, f.head(1)]), "appears 2 times"),
    (lambda f: f.with_columns(arpu=pl.when(pl.col("customer_id") == "C00000007").then(None)
                              .otherwise(pl.col("arpu"))), "feature 'arpu' is empty"),
    (lambda f: f.with_columns(avg_sms=pl.lit(2.0)), "feature 'avg_sms' is constant"),
], ids=["repeated-id", "empty-feature", "constant-feature"])
def test_cluster_on_spark_refuses_what_polars_refuses(spark, edit, message):
    from segment.cluster import cluster
    from tests.blobs import planted

    customers = edit(planted(300, seed=2)[0])
    for frame in (customers, spark.createDataFrame(customers.to_arrow())):
        with pytest.raises(DataError, match=message), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster(frame, min_cluster_size=30)


def _many_values(seed: int) -> pl.DataFrame:
    """Many distinct values with heavy ties: a third of the rows on five values, the rest continuous."""
    rng = np.random.default_rng(seed)
    n = 4000
    seg = rng.choice(["a", "b", "c", "d"], n, p=[0.3, 0.3, 0.3, 0.1])
    lift = np.select([seg == "a", seg == "b"], [1.3, 1.0], 0.95)
    spend = np.round(rng.gamma(2.0, 20.0, n) * lift, 2)
    tied = rng.random(n) < 0.35
    spend[tied] = rng.choice([0.0, 10.0, 25.0, 50.0, 99.99], tied.sum())
    return pl.DataFrame({
        "plan": seg, "spend": spend,
        "visits": rng.poisson(3 * lift, n).astype(np.int64),  # few values, many ties per value
        "churn": np.where(rng.random(n) < 0.2 * lift, "Yes", "No"),
    }).with_columns(spend=pl.when(pl.int_range(pl.len()) % 89 == 0).then(None).otherwise(pl.col("spend")))


@needs_spark
@pytest.mark.parametrize("seed", [3, 11])
def test_ranked_path_equals_the_count_path_and_polars(spark, seed, monkeypatch):
    df = _many_values(seed)
    options = {"segment": "plan", "outcomes": ["spend", "visits", "churn"]}
    with pytest.warns(UserWarning):
        expected = validate_segment(df, **options)
    sdf = spark.createDataFrame(df.to_arrow())
    with pytest.warns(UserWarning):
        count_path = validate_segment(sdf, **options)
    from segment.validate import _spark as on_spark

    # The ranked path on small data: the counted table has thousands of rows, the stand-ins under 150.
    monkeypatch.setattr(on_spark, "MAX_CELLS", 150)
    monkeypatch.setattr(on_spark, "RANK_PARTS", 5)
    _, ranked = on_spark.counted(sdf, segment="plan", outcomes=options["outcomes"], id=None)
    assert sorted(ranked) == ["spend", "visits"]  # the forced path really ranks
    with pytest.warns(UserWarning):
        got = validate_segment(sdf, **options)
    for result in (count_path, got):
        assert result.verdict == expected.verdict and result.reasons == expected.reasons
        assert result.stats == expected.stats and result.merges == expected.merges
        for name in ("outcomes", "pairs", "merge_map", "profile", "standouts"):
            assert_same(getattr(expected, name), getattr(result, name))


@needs_spark
@pytest.mark.parametrize("cuts", [[25.0], [0.0, 10.0, 25.0, 50.0, 99.99], [10.0, 10.01, 60.0], None],
                         ids=["one-tie-block-closes", "every-tie-block-closes", "tie-block-alone", "approximate"])
def test_ranked_stats_equal_the_counted_stats_with_ties_on_range_boundaries(spark, cuts):
    # The five tie blocks of _many_values (a third of the rows) sit on the cut points, so a range
    # boundary falls inside what would be one run of equal values in a row-wise split.
    from segment.stats.groupstats import SEG, numeric_stats
    from segment.validate import _spark as on_spark

    df = _many_values(5)
    sdf = spark.createDataFrame(df.to_arrow())
    if cuts is None:
        cuts = on_spark._cuts(sdf, "plan", "spend", 40)
        assert len(cuts) >= 20
    labels = pl.Series(["a", "b", "c", "d"])
    got = on_spark._ranked(sdf, "plan", "spend", cuts)(labels)
    coded = df.with_columns(pl.col("plan").replace_strict(labels.to_list(), [0, 1, 2, 3],
                                                          return_dtype=pl.UInt32).alias(SEG))
    want = numeric_stats(coded, "spend", 4)
    assert got.n.tolist() == want.n.tolist() and got.total == want.total
    for field in ("mean", "m2", "rank_sum", "median"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-12, atol=1e-9)
    assert got.tie_term == pytest.approx(want.tie_term, rel=1e-12)
    from scipy.stats import kruskal

    groups = [df.filter(pl.col("plan") == s)["spend"].drop_nulls().to_numpy() for s in labels]
    assert np.isclose(kruskal(*groups).statistic, _h(got), rtol=1e-9)


def _h(s) -> float:
    n = s.total
    h = 12 / (n * (n + 1)) * np.sum(s.rank_sum**2 / s.n) - 3 * (n + 1)
    return h / (1 - s.tie_term / (n**3 - n))


@needs_spark
def test_ranked_path_uses_no_window_over_the_whole_table(spark):
    from segment.validate import _spark as on_spark

    sdf = spark.createDataFrame(_many_values(2).to_arrow())
    cells, _ = on_spark.ranked_cells(sdf, "plan", "spend", on_spark._cuts(sdf, "plan", "spend", 5))
    plan = cells._jdf.queryExecution().executedPlan().toString()
    windows = [line for line in plan.splitlines() if "Window [" in line]
    assert len(windows) == 2
    # A Window node prints [functions], [partition keys], [order]; a global one has no partition keys.
    assert all("], [part#" in line for line in windows)
    assert "SinglePartition" not in plan


# ------------------------------------------------------------------ the driver stays small
def _rfm_at(spark, size):
    tx = _transactions(seed=2, n=10 * size, customers=size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rfm(spark.createDataFrame(tx.to_arrow()))
    return result.thresholds


def _validate_at(spark, size):
    rng = np.random.default_rng(4)
    frame = pl.DataFrame({"plan": rng.choice(["a", "b", "c"], size), "spend": np.round(rng.gamma(2.0, 20.0, size), 2),
                          "churn": rng.choice(["Yes", "No"], size)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_segment(spark.createDataFrame(frame.to_arrow()), segment="plan",
                                outcomes=["spend", "churn"]).verdict


def _cluster_at(spark, size):
    from segment.cluster import cluster
    from tests.blobs import planted

    customers, _ = planted(size, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cluster(spark.createDataFrame(customers.to_arrow()), seed=5, fit_sample=200, min_cluster_size=30).stats


@needs_spark
@pytest.mark.parametrize("command", [_rfm_at, _validate_at, _cluster_at], ids=["rfm", "validate-segment", "cluster"])
def test_rows_collected_to_the_driver_do_not_grow_with_the_customers(spark, driver_rows, monkeypatch, command):
    from segment.validate import _spark as validate_on_spark

    # The thresholds at which the engine switches from counting every value to bounded tables, made
    # small so that both sizes are past them (in use: 100,000 distinct values, 2M cells).
    monkeypatch.setattr(engine, "EXACT_DISTINCT", 100)
    monkeypatch.setattr(engine, "WINDOW", 64)
    monkeypatch.setattr(validate_on_spark, "MAX_CELLS", 150)
    collected = []
    for size in (600, 6000):
        driver_rows.calls.clear()
        command(spark, size)
        collected.append(driver_rows.total)
    assert collected[1] <= 1.2 * collected[0] + 50, (collected, driver_rows.calls)


# ------------------------------------------------------------------ spark-submit
def test_under_spark_submit_the_master_is_spark_submits(monkeypatch):
    monkeypatch.delenv(engine.MASTER_ENV, raising=False)
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert engine.default_master() == "local[*]"
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "40000")
    assert engine.default_master() is None  # the session keeps spark-submit's --master and settings
    monkeypatch.setenv(engine.MASTER_ENV, "yarn")
    assert engine.default_master() == "yarn"


@needs_spark
def test_spark_submit_runs_the_cli_as_docs_spark_md_shows(tmp_path):
    import importlib.util

    import pyspark

    entry = importlib.util.find_spec("segment_cli.__main__").origin  # not imported: importing it runs the CLI
    path = tmp_path / "tx.parquet"
    _transactions().write_parquet(path)
    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.pop(engine.MASTER_ENV, None)
    out = tmp_path / "rfm.parquet"
    done = subprocess.run([str(home / "bin" / "spark-submit"), "--master", "local[1]", "--conf",
                           "spark.ui.enabled=false", entry, "rfm", str(path), "--engine", "spark", "-o",
                           str(out), "-q"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = rfm(_transactions()).table
    assert_same(expected, pl.read_parquet(out / "*.parquet").sort("customer_id"))
