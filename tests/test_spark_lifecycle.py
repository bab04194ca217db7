"""``segment lifecycle --engine spark``: the same stages, history, KPIs and transitions as polars.

On a real PySpark in ``local[2]`` mode, with the session and the xdist group
of :mod:`tests.test_spark`. The edge panels put every rule of
``tests/test_lifecycle.py`` (decline subtypes, win-back, reactivation, exit
by silence and by status, re-entry, number swap, activation dates, gaps,
duplicates) in one panel each, so one Spark run checks them all.
"""

from __future__ import annotations

import re
import warnings

import polars as pl
import pytest

from segment import spark as engine
from segment.errors import ColumnTypeError, DataError, OptionError, SegmentError, SegmentWarning
from segment.lifecycle import lifecycle
from tests.conftest import FIXTURES
from tests.test_lifecycle import panel, steady
from tests.test_spark import assert_same, needs_spark, spark  # noqa: F401 (the shared session fixture)

pytestmark = pytest.mark.xdist_group("spark")

SMALL = FIXTURES / "lifecycle_small.csv"


def _edges() -> pl.DataFrame:
    """One customer per rule (see tests/test_lifecycle.py for each by hand); p* are persons."""
    parts = panel(
        drop2=steady([100, 40]),  # decline in month two
        exact=steady([100, 100, 100, 70, 70, 70], [500] * 6),  # a fall of exactly 30%: single-drop:voice
        rev=steady([50] * 6, revenue=20.0)[:3] + [(m, 50.0, 250.0, 5.0, "active") for m in
                                                    ("2023-04", "2023-05", "2023-06")],  # revenue-drop
        gap=[r for i, r in enumerate(steady([80] * 7)) if i not in (2, 3)],  # missing rows: zero usage
        winback=steady([60, 60, 0, 0, 60, 60, 30]),  # win-back, then a fall judged from the return
        reactivated=steady([60, 60, 0, 0, 0, 0, 0, 60, 60]),  # exit, then a reactivation; tenure stops
        suspended=steady([40, 40, 0, 0, 40], status=["active", "active", "suspended", "suspended", "active"]),
        cancelled=steady([30, 30, 0], status=["active", "active", "cancelled"]),  # carried over after the rows
        late=steady([0, 0, 25, 25], start=2),  # no stage before the first activity
        never=steady([0, 0], status=["active", "cancelled"], start=3),  # cancelled before any use: exit
        old=steady([50, 50, 50, 0, 0, 0]), swap=steady([10] * 5, start=2),  # a number swap (person p1)
        gone=steady([50, 20, 0, 0], status=["active", "active", "suspended", "cancelled"]),  # re-entry (p2) ...
        back=steady([10, 12], start=5),  # ... on this line
        alone=steady([50, 50, 50, 0, 0, 0]),  # the same shape, no other line: churn
        y1=steady([50, 50, 50, 0, 0, 0]), y2=steady([50, 50, 50, 0, 0, 0]),  # one person, two lines
        steady=steady([80] * 9),
    )
    persons = {"old": "p1", "swap": "p1", "gone": "p2", "back": "p2", "y1": "q", "y2": "q"}
    return parts.with_columns(person=pl.col("customer_id").replace_strict(persons, default=pl.col("customer_id")),
                              activated=pl.when(pl.col("customer_id") == "steady").then(pl.lit("2022-11-20"))
                              .otherwise(None))


def _same(spark, df: pl.DataFrame, at: str | None = None, **options) -> None:
    """Every table of both engines equal; the warnings too."""
    options = {"voice": "voice", "data": "data", "revenue": "revenue", "status": "status", **options}
    with warnings.catch_warnings(record=True) as said_polars:
        warnings.simplefilter("always")
        expected = lifecycle(df, **options)
        tables = {"snapshot": expected.snapshot(), "history": expected.history()}
    with warnings.catch_warnings(record=True) as said_spark:
        warnings.simplefilter("always")
        got = lifecycle(spark.createDataFrame(df.to_arrow()), **options)
        rows = {"snapshot": engine.to_polars(got.snapshot()), "history": engine.to_polars(got.history())}
    assert [str(w.message) for w in said_spark if w.category is SegmentWarning] == \
        [str(w.message) for w in said_polars if w.category is SegmentWarning]
    key = options.get("id", "customer_id")
    assert_same(tables["snapshot"], rows["snapshot"].sort(key))
    assert_same(tables["history"], rows["history"].sort(key, "month"))
    if at:
        assert_same(expected.history(at), engine.to_polars(got.history(at)).sort(key))
    assert got.stats == expected.stats and got.params() == expected.params()
    assert_same(expected.counts(), got.counts())
    assert_same(expected.kpis(), got.kpis())
    assert_same(expected.transitions(), got.transitions())
    assert_same(expected.projection(3), got.projection(3))


@needs_spark
@pytest.mark.parametrize("options", [
    {"identity": "person", "activation": "activated"},
    {},
    {"identity": "person", "window": 2, "baseline": 4, "drop": 0.5, "exit_after": 2, "winback": 1,
     "acquisition": 1, "build_up": 2, "as_of": "2023-07"},
], ids=["identity-activation", "lines-only", "other-rules-and-as-of"])
def test_every_edge_rule_is_the_same_on_both_engines(spark, options):
    _same(spark, _edges(), at="2023-04", **options)


@needs_spark
def test_small_panel_and_summed_duplicates_and_unsorted_numeric_ids(spark):
    _same(spark, pl.read_csv(SMALL), voice="voice_min", data="data_mb", identity="identity", at="2024-05")
    df = _edges().filter(pl.col("customer_id").is_in(["winback", "gap", "old", "swap", "steady"]))
    codes = {"winback": 30, "gap": 4, "old": 1000, "swap": 7, "steady": 12}
    df = pl.concat([df, df.head(3)]).sample(fraction=1.0, shuffle=True, seed=1).with_columns(
        pl.col("customer_id").replace_strict(codes, return_dtype=pl.Int64))
    _same(spark, df, dedupe="sum", identity="person", as_of="2023-12")


@needs_spark
def test_synth_panel_is_the_same_on_both_engines(spark):
    from segment.synth import synth

    df = synth(300, 12, seed=4, tables=["panel"]).frames()["panel"]
    _same(spark, df.drop("sms"), voice="voice_min", data="data_mb", identity="identity", activation="activation")


@needs_spark
def test_no_per_customer_rows_reach_the_driver(spark, driver_rows, tmp_path):
    from segment.lifecycle._rules import STAGES
    from segment.synth import synth

    df = synth(2000, 12, seed=2, tables=["panel"]).frames()["panel"].drop("sms")
    options = {"voice": "voice_min", "data": "data_mb", "revenue": "revenue", "status": "status",
               "identity": "identity", "activation": "activation"}
    seen = {}
    for customers in (200, 2000):
        part = spark.createDataFrame(df.filter(pl.col("customer_id").is_in(
            df["customer_id"].unique().sort().head(customers).implode())).to_arrow())
        driver_rows.calls.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = lifecycle(part, **options)
            engine.write_dataset(result.snapshot(), str(tmp_path / f"out{customers}"), {})
            result.counts(), result.kpis(), result.transitions()
        seen[customers] = [n for _, n in driver_rows.calls]
    # The largest table back is the KPI sums: months x stages, whatever the number of customers.
    bound = 12 * len(STAGES)
    assert max(seen[2000]) <= bound < 200
    assert len(seen[2000]) == len(seen[200])
    assert sum(seen[2000]) - sum(seen[200]) <= 2 * len(STAGES)  # a few more subtypes seen, no more


def _without_rows(message: str) -> str:
    """A message without where its rows are: polars names the first row, Spark (rows without order) counts them."""
    message = re.sub(r" in row \d+ \(([\d,]+) rows\)", r" in \1 rows", message)
    return re.sub(r" \((rows? \d+( and \d+)?|[\d,]+ rows)\)", "", message)


@needs_spark
@pytest.mark.parametrize("edit, options, error", [
    (lambda f: f, {"voice": "voise"}, SegmentError),
    (lambda f: f, {"voice": "status"}, OptionError),
    (lambda f: f.with_columns(voice=pl.lit(None, dtype=pl.Date)), {}, ColumnTypeError),
    (lambda f: f.with_columns(voice=pl.when(pl.col("customer_id") == "gap").then(-5.0).otherwise(pl.col("voice"))),
     {}, DataError),
    (lambda f: f.with_columns(status=pl.col("status").replace("suspended", "on hold")), {}, DataError),
    (lambda f: f.with_columns(month=pl.col("month").replace("2023-03", "March")), {}, DataError),
    (lambda f: pl.concat([f, f.filter(pl.col("customer_id") == "steady").head(1)]), {}, DataError),
    (lambda f: f.with_columns(activated=pl.when(pl.col("customer_id") == "late").then(pl.lit("2023-05-02"))
                              .otherwise(pl.col("activated"))), {"activation": "activated"}, DataError),
], ids=["misspelt-column", "two-roles", "date-as-usage", "negative", "unknown-status", "bad-month",
        "duplicate-month", "usage-before-activation"])
def test_errors_are_the_polars_errors(spark, edit, options, error):
    """Column and option errors word for word; data errors too, but for where the rows are."""
    df = edit(_edges())
    options = {"voice": "voice", "data": "data", "status": "status", **options}
    messages = []
    for frame in (df, spark.createDataFrame(df.to_arrow())):
        with pytest.raises(error) as caught, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lifecycle(frame, **options)
        messages.append(str(caught.value))
    assert _without_rows(messages[0]) == _without_rows(messages[1])


@needs_spark
def test_other_schemes_are_refused_in_one_line(spark):
    frame = spark.createDataFrame(_edges().to_arrow())
    with pytest.raises(OptionError, match=r"^--scheme purchases is not available with --engine spark yet; "
                                          r"use --engine polars for it$"):
        lifecycle(frame, voice="voice", scheme="purchases")


@needs_spark
def test_cli_writes_the_same_stages_kpis_and_transitions(spark, tmp_path, cli):
    path = tmp_path / "panel.parquet"
    _edges().write_parquet(path)
    common = ["--voice", "voice", "--data", "data", "--revenue", "revenue", "--status", "status", "--identity",
              "person", "-q"]
    spark_options = ["--engine", "spark", "--spark-master", "local[2]"]
    assert cli(["lifecycle", path, "-o", tmp_path / "p.parquet", "--kpis", tmp_path / "pk.csv", "--history",
                *common]).exit_code == 0
    result = cli(["lifecycle", path, "-o", tmp_path / "s", "--kpis", tmp_path / "sk.csv", "--history", *common,
                  *spark_options])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "s" / engine.SUCCESS).exists()
    assert_same(pl.read_parquet(tmp_path / "p.parquet"),
                pl.read_parquet(tmp_path / "s" / "*.parquet").sort("customer_id", "month"))
    assert_same(pl.read_csv(tmp_path / "pk.csv"), pl.read_csv(tmp_path / "sk.csv"))
    for name, extra in (("p", []), ("s", spark_options)):
        out = cli(["lifecycle", "transitions", path, "-o", tmp_path / f"{name}t.csv", "--project", "2",
                   "--projection", tmp_path / f"{name}j.csv", *common, *extra])
        assert out.exit_code == 0, out.stderr
    assert_same(pl.read_csv(tmp_path / "pt.csv"), pl.read_csv(tmp_path / "st.csv"))
    assert_same(pl.read_csv(tmp_path / "pj.csv"), pl.read_csv(tmp_path / "sj.csv"))


@needs_spark
def test_cli_errors_on_spark_are_one_line_and_exit_2(spark, tmp_path, cli):
    path = tmp_path / "panel.parquet"
    _edges().with_columns(pl.col("voice").cast(pl.String).replace("80.0", "eighty")).write_parquet(path)
    base = ["lifecycle", path, "--engine", "spark", "--spark-master", "local[2]", "-o", tmp_path / "out"]
    # Found on an executor (a word among numbers): still the user's error, in one line.
    stray = cli([*base, "--voice", "voice"])
    assert stray.exit_code == 2 and stray.stderr.count("\n") == 1, stray.stderr
    assert stray.stderr.startswith("error: column 'voice' must be numeric") and "'eighty'" in stray.stderr
    b2b = cli([*base, "--revenue", "revenue", "--scheme", "b2b", "--account", "person"])
    assert b2b.exit_code == 2
    assert b2b.stderr == "error: --scheme b2b is not available with --engine spark yet; use --engine polars for it\n"
    assert not (tmp_path / "out").exists()
