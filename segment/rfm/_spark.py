"""``rfm`` on Spark: one group-by per customer on the executors, the rest shared with polars.

The per-customer aggregation is the Spark-only piece (tested against the
polars engine); the breakpoints come from :func:`segment.spark.tie_breaks`
(the polars rule on counts), and scores, cells and segment names are the
polars plan :func:`segment.rfm._rfm.score_plan` run batch by batch on the
executors. Options that need more than one pass over the transactions
per customer (``btyd``, ``holdout_end``) stay on the polars engine for now.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

import polars as pl

from segment import spark as engine
from segment.columns import require_columns
from segment.errors import ColumnTypeError, DataError, EmptyInputError, OptionError, SegmentWarning
from segment.rfm._rfm import (METRICS, MICRO, SCORE_COLUMNS, RFMResult, metric_breaks, score_plan,
                              segment_rules)

_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double")


def rfm_spark(frame: Any, *, id: str, date: str, amount: str, quantity: str | None, order: str | None,
              cutoff: Any, bins: int, frequency: str, monetary: str, returns: str,
              breaks: dict[str, list[float]] | None, segments: Any, btyd: bool, holdout: Any, strict: bool,
              date_format: str | None) -> RFMResult:
    """:func:`segment.rfm.rfm` on a Spark DataFrame; ``table`` is then a Spark DataFrame (lazy)."""
    from pyspark.sql import functions as F

    if btyd or holdout is not None:
        raise OptionError("--btyd and --holdout-end are not available with --engine spark yet; "
                          "use --engine polars for them")
    roles = {"id": id, "date": date, "amount": amount}
    roles.update({k: v for k, v in (("quantity", quantity), ("order", order)) if v})
    require_columns(frame, roles)
    types = dict(frame.dtypes)
    for col, option in ((amount, "--amount"), (quantity, "--quantity")):
        if col and not (types[col] in _NUMERIC or types[col].startswith("decimal")):
            raise ColumnTypeError(f"column {col!r} holds {types[col]} values, not numbers; cast it to a number "
                                  f"in Spark first ({option})")
    tx = frame.select(F.col(id).alias(id), _date(F.col(date), types[date], date_format).alias(date),
                      (F.col(amount) * (F.col(quantity) if quantity else F.lit(1))).cast("double").alias(amount),
                      *([F.col(order)] if order else []))
    known = F.col(id).isNotNull()
    checks = tx.agg(
        F.count(F.when(F.col(id).isNull(), 1)).alias("null_ids"),
        F.count(F.when(F.col(date).isNull(), 1)).alias("null_dates"),
        F.count(F.when(F.col(amount).isNull(), 1)).alias("null_amounts"),
        (F.count(F.when(F.col(order).isNull(), 1)) if order else F.lit(0)).alias("null_orders"),
        F.count(F.when(known & (F.col(amount) < 0), 1)).alias("negatives"),
        F.count(F.when(F.isnan(amount) | (F.abs(F.col(amount)) == float("inf")), 1)).alias("nan_amounts"),
        F.max(F.when(known, F.col(date))).alias("last"),
        (F.count(F.when(known & (F.col(date) > F.lit(cutoff)), 1)) if cutoff else F.lit(0)).alias("after_as_of"),
    ).first().asDict()
    stats, last_seen = _checked(checks, id=id, date=date, amount=amount, order=order, strict=strict,
                                returns=returns)
    as_of = cutoff if cutoff is not None else last_seen + timedelta(days=1)
    if stats["after_as_of"]:
        warnings.warn(f"left out {stats['after_as_of']:,} transactions dated after --as-of {as_of}",
                      SegmentWarning, stacklevel=3)
    scored = tx.where(known & (F.col(date) <= F.lit(cutoff)) if cutoff else known)
    if returns == "drop":
        scored = scored.where(F.col(amount) >= 0)
    per_customer = _aggregate(scored, id=id, date=date, amount=amount, frequency=frequency, order=order,
                              as_of=as_of).cache()
    counts = per_customer.agg(F.sum("_rows").alias("transactions"),
                              F.count(F.when(F.col("frequency") == 0, 1)).alias("no_purchase_customers"),
                              F.count(F.when(F.col("frequency") > 0, 1)).alias("customers")).first().asDict()
    stats.update({k: int(v or 0) for k, v in counts.items()})
    if stats["no_purchase_customers"]:
        warnings.warn(f"left out {stats['no_purchase_customers']:,} customers with no purchase (only returns)",
                      SegmentWarning, stacklevel=3)
    if stats["customers"] == 0:
        if cutoff is not None and stats["transactions"] == 0:
            raise DataError(f"no transactions on or before --as-of {cutoff}: choose a later date")
        raise DataError(f"no purchases found: every {amount!r} is negative")
    table = per_customer.where(F.col("frequency") > 0)
    if monetary == "mean":
        table = table.withColumn("monetary", F.col("monetary") / F.col("frequency"))
    table = table.select(id, *METRICS).cache()
    used = metric_breaks(lambda col, negate: engine.tie_breaks(
        table.select((-F.col(col) if negate else F.col(col)).alias("_v")), "_v", bins, spread=True), breaks)
    rules = segment_rules(segments, bins)
    schema = {id: pl.String, "recency": pl.Int64, "frequency": pl.UInt32, "monetary": pl.Float64,
              "r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8, "rfm_cell": pl.String,
              "rfm_score": pl.Int16, **({"segment": pl.String} if rules is not None else {})}
    schema[id] = _polars_type(types[id])
    # Cached: the thresholds, the written table and the summary all read it; the Python step runs once.
    result = engine.map_polars(table, lambda df: score_plan(df.lazy(), used, rules).collect(), schema).cache()
    thresholds = _thresholds(result)
    per_customer.unpersist()
    return RFMResult(result.orderBy(id), thresholds, used, as_of, stats)


def _date(col: Any, dtype: str, fmt: str | None) -> Any:
    from pyspark.sql import functions as F

    if dtype == "date":
        return col
    if dtype.startswith("timestamp"):
        return F.to_date(col)
    if dtype == "string":
        text = F.trim(col)
        return F.to_date(text, _java_format(fmt)) if fmt else F.to_date(F.substring(text, 1, 10), "yyyy-MM-dd")
    raise ColumnTypeError(f"column {col!r} must hold dates, but it is {dtype}")


def _java_format(fmt: str) -> str:
    """A strftime format as Spark's datetime pattern (the common codes).

    >>> _java_format("%d/%m/%Y")
    'dd/MM/yyyy'
    """
    for code, pattern in (("%Y", "yyyy"), ("%m", "MM"), ("%d", "dd"), ("%y", "yy"), ("%H", "HH"), ("%M", "mm"),
                          ("%S", "ss"), ("%b", "MMM")):
        fmt = fmt.replace(code, pattern)
    return fmt


def _checked(row: dict, *, id: str, date: str, amount: str, order: str | None, strict: bool,
             returns: str) -> tuple[dict[str, int], Any]:
    """The polars engine's checks, from counts (Spark rows have no order, so no row numbers)."""
    if row["null_ids"] and strict:
        raise DataError(f"column {id!r} is empty in {row['null_ids']:,} rows; drop those rows or leave out --strict")
    if row["null_ids"]:
        warnings.warn(f"dropped {row['null_ids']:,} rows with an empty {id!r} (use --strict to make this an error)",
                      SegmentWarning, stacklevel=4)
    for col, key in ((date, "null_dates"), (amount, "null_amounts"), (order, "null_orders")):
        if row[key]:
            raise DataError(f"column {col!r} is empty or not a date in {row[key]:,} rows; fill or drop them"
                            if col == date else f"column {col!r} is empty in {row[key]:,} rows; fill or drop them")
    if row["nan_amounts"]:
        raise DataError(f"column {amount!r} is not a finite number in {row['nan_amounts']:,} rows; "
                        "fill or drop those rows")
    if row["negatives"] and returns == "error":
        raise DataError(f"column {amount!r} is negative in {row['negatives']:,} rows, and --returns error forbids "
                        "returns; use --returns net or --returns drop")
    if row["last"] is None:
        raise EmptyInputError("no transactions to score (the input has no rows with a customer id)")
    return {"null_ids": int(row["null_ids"]), "returns": int(row["negatives"]),
            "after_as_of": int(row["after_as_of"])}, row["last"]


def _aggregate(tx: Any, *, id: str, date: str, amount: str, frequency: str, order: str | None, as_of: Any) -> Any:
    """Per customer in one group-by: last purchase, net spend in whole millionths, rows, purchases."""
    from pyspark.sql import functions as F

    buy = F.col(amount) >= 0
    # bround: half to even, as polars' round, so that the millionths are the same on both engines.
    micro = F.bround(F.col(amount) * MICRO).cast("long")
    count = F.count(F.when(buy, 1))
    if frequency == "days":
        count = F.countDistinct(F.when(buy, F.col(date)))
    if order:
        count = F.countDistinct(F.when(buy, F.col(order)))
    return tx.groupBy(id).agg(
        F.max(F.when(buy, F.col(date))).alias("_last"),
        # Times the reciprocal, as polars divides a column by a number: the same float to the last bit.
        (F.sum(micro) * F.lit(1 / MICRO)).alias("monetary"),
        F.count(F.lit(1)).alias("_rows"),
        count.cast("long").alias("frequency"),
    ).withColumn("recency", F.datediff(F.lit(as_of), F.col("_last")).cast("long"))


def _polars_type(spark: str) -> pl.DataType:
    return {"bigint": pl.Int64, "int": pl.Int32, "string": pl.String, "double": pl.Float64}.get(spark, pl.String)


def _thresholds(table: Any) -> pl.DataFrame:
    """Per metric and score: customers, share, smallest and largest value (as :func:`segment.binning.describe_bins`).

    One aggregation per (r, f, m) cell, at most ``bins**3`` rows, finished on the driver.
    """
    from pyspark.sql import functions as F

    metrics = (("r", "recency"), ("f", "frequency"), ("m", "monetary"))
    cells = engine.to_polars(table.groupBy("r_score", "f_score", "m_score").agg(
        F.count(F.lit(1)).alias("n"),
        *[F.min(col).cast("double").alias(f"min_{col}") for _, col in metrics],
        *[F.max(col).cast("double").alias(f"max_{col}") for _, col in metrics]))
    total = cells["n"].sum()
    parts = [cells.group_by(pl.col(f"{key}_score").cast(pl.Int8).alias("score")).agg(
        n=pl.col("n").sum().cast(pl.UInt32), min=pl.col(f"min_{col}").min(), max=pl.col(f"max_{col}").max())
        .sort("score").with_columns(metric=pl.lit(col), share=pl.col("n") / total) for key, col in metrics]
    return pl.concat(parts).select("metric", "score", "n", "share", "min", "max")
