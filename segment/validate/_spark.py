"""``validate-segment`` on Spark: the rows are counted on the cluster, everything else is shared.

Every statistic of :func:`segment.validate.validate_segment` comes from
sufficient statistics: chi-square from segment x level counts, and
Kruskal-Wallis, medians, means and variances from counts per (segment,
value) (:func:`segment.stats.groupstats.numeric_stats_from_cells`: mid-ranks
from cumulative counts, with the tie correction). Spark computes those
counts with one group-by; the counted table comes back to the driver and
runs through the same preparation, tests, pairs and merge map as the polars
engine, each row standing for its count.

When that table would exceed :data:`MAX_CELLS` rows (a continuous outcome
with millions of distinct values), every numeric outcome is ranked on the
executors instead (:func:`ranked_stats`): the values are split into value
ranges, each range counts its values and its rows, the driver turns the
few range totals into offsets, and mid-ranks, rank sums, the tie term and
the medians come from group-bys and windows partitioned by range, never a
window over the whole table. The counted table then carries, for such an
outcome, only which of three value ranges a row falls in (so that missing
values, spread and kind are checked as before), and its
:class:`~segment.stats.groupstats.NumericStats` are replaced by the ranked
ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from segment import spark as engine
from segment.columns import require_columns
from segment.errors import DataError, OptionError
from segment.stats.groupstats import NumericStats

#: Distinct (segment, outcome values) combinations brought back to the driver at most.
MAX_CELLS = 2_000_000
#: Value ranges the ranked path splits a numeric outcome into (at least 3).
RANK_PARTS = 64

#: Ranked outcome -> its exact statistics, given the segment labels in code order.
Ranked = dict[str, Callable[[pl.Series], NumericStats]]


def counted(frame: Any, *, segment: str, outcomes: Sequence[str], id: str | None,
            outcome_types: Mapping[str, str] | None = None, max_cells: int | None = None,
            parts: int | None = None) -> tuple[pl.DataFrame, Ranked]:
    """Rows per distinct (segment, outcomes...) combination, column :data:`segment.spark.COUNT`.

    Also returns the numeric outcomes ranked on the executors (empty unless
    the combinations exceed *max_cells*, default :data:`MAX_CELLS`).
    """
    from pyspark.sql import functions as F

    max_cells = MAX_CELLS if max_cells is None else max_cells
    parts = RANK_PARTS if parts is None else parts
    if not outcomes:
        raise OptionError("--outcome is required: name the column(s) the segments should explain, e.g. "
                          "--outcome churn,arpu")
    require_columns(frame, {"segment": segment})
    for name in outcomes:
        require_columns(frame, {"outcome": name})
    if id is not None:
        require_columns(frame, {"id": id})
        dup = frame.where(F.col(id).isNotNull()).groupBy(id).count().where(F.col("count") > 1).limit(1).collect()
        if dup:
            raise DataError(f"customer id {dup[0][0]!r} in column {id!r} appears more than once; validate-segment "
                            "needs one row per customer: deduplicate or aggregate first")
    cells = _count(frame, segment, outcomes, max_cells)
    ranked: Ranked = {}
    if cells.height > max_cells:
        rank = [name for name in outcomes if _is_number(frame, name) and (outcome_types or {}).get(name, "numeric")
                == "numeric" and name != segment]
        for name in rank:
            cuts = _cuts(frame, segment, name, parts)
            ranked[name] = _ranked(frame, segment, name, cuts)
            frame = frame.withColumn(name, _stand_in(F.col(name), cuts))
        cells = _count(frame, segment, outcomes, max_cells) if rank else cells
    if cells.height > max_cells:
        raise DataError(f"segment {segment!r} and outcomes {', '.join(map(repr, outcomes))} take more than "
                        f"{max_cells:,} distinct combinations of values, too many to count on the driver; "
                        "validate categorical outcomes a few at a time")
    return cells.with_columns(pl.col(engine.COUNT).cast(pl.Int64)), ranked


def _count(frame: Any, segment: str, outcomes: Sequence[str], max_cells: int) -> pl.DataFrame:
    from pyspark.sql import functions as F

    columns = list(dict.fromkeys([segment, *outcomes]))
    return engine.to_polars(frame.groupBy(*columns).agg(F.count(F.lit(1)).alias(engine.COUNT)).limit(max_cells + 1))


def _is_number(frame: Any, name: str) -> bool:
    from pyspark.sql.types import BooleanType, NumericType

    dtype = frame.schema[name].dataType
    return isinstance(dtype, NumericType) and not isinstance(dtype, BooleanType)


def _values(frame: Any, segment: str, name: str) -> Any:
    """Rows with a segment and a finite value: columns ``s`` (segment) and ``v`` (value as a double)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    v = F.col(name).cast("double")
    keep = F.col(segment).isNotNull() & v.isNotNull() & ~F.isnan(v) & (F.abs(v) != float("inf"))
    if isinstance(frame.schema[segment].dataType, (DoubleType, FloatType)):
        keep = keep & ~F.isnan(F.col(segment))  # a NaN segment is no segment, as in prepare()
    return frame.where(keep).select(F.col(segment).alias("s"), v.alias("v"))


def _cuts(frame: Any, segment: str, name: str, parts: int) -> list[float]:
    """Upper bounds of the value ranges: approximate quantiles of the distinct values.

    Ranges are fixed values, not Spark's sampled range partitioner, so that
    the job summing each range's rows and the job ranking within each range
    put every value in the same range, and one value never spans two.
    """
    from pyspark.sql import functions as F

    parts = max(parts, 3)
    distinct = _values(frame, segment, name).select("v").distinct()
    probs = [i / parts for i in range(1, parts)]
    cuts = distinct.agg(F.percentile_approx("v", probs, 10_000).alias("q")).collect()[0]["q"] or []
    return sorted(set(float(c) for c in cuts))


def _part(v: Any, cuts: list[float]) -> Any:
    """The value range of *v*: how many cut points lie below it (a value equal to a cut closes its range)."""
    from pyspark.sql import functions as F

    part = F.lit(0)
    for c in cuts:
        part = part + (v > F.lit(c)).cast("int")
    return part


def _stand_in(v: Any, cuts: list[float]) -> Any:
    """For the counted table: which third of the value ranges, null where the value is (NaN and inf kept to be refused)."""
    from pyspark.sql import functions as F

    x = v.cast("double")
    third = (_part(x, cuts) * 3 / (len(cuts) + 1)).cast("int").cast("double")
    return F.when(x.isNull() | F.isnan(x) | (F.abs(x) == float("inf")), x).otherwise(third)


def ranked_cells(frame: Any, segment: str, name: str, cuts: list[float]) -> tuple[Any, Any]:
    """Per (value, segment): rows ``n``, the value's mid-rank and rows of its segment up to it; and per value range, its rows.

    Returns the Spark frame still missing the range offsets (``offset_v``,
    ``offset_s`` are added by :func:`_ranked`) and the small per-range table.
    Windows are partitioned by value range (and segment), so no executor
    holds more than one range.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cells = (_values(frame, segment, name).groupBy("v", "s").agg(F.count(F.lit(1)).cast("long").alias("n"))
             .withColumn("part", _part(F.col("v"), cuts)))
    upto = Window.partitionBy("part").orderBy("v").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    values = (cells.groupBy("part", "v").agg(F.sum("n").cast("long").alias("t"))
              .withColumn("upto", F.sum("t").over(upto)))
    in_segment = Window.partitionBy("part", "s").orderBy("v").rowsBetween(Window.unboundedPreceding,
                                                                          Window.currentRow)
    cells = (cells.join(values, ["part", "v"]).withColumn("upto_s", F.sum("n").over(in_segment)))
    totals = cells.groupBy("part", "s").agg(F.sum("n").cast("long").alias("rows"))
    return cells, totals


def _ranked(frame: Any, segment: str, name: str, cuts: list[float]) -> Callable[[pl.Series], NumericStats]:
    """The outcome's :class:`NumericStats`, as :func:`numeric_stats_from_cells` gives them, computed on Spark."""
    from pyspark.sql import functions as F

    def stats(labels: pl.Series) -> NumericStats:
        cells, totals = ranked_cells(frame, segment, name, cuts)
        # The only collect of the ranks: rows per (value range, segment), at most ranges x segments.
        per = engine.to_polars(totals).sort("part", "s")
        by_part = per.group_by("part").agg(pl.col("rows").sum()).sort("part")
        offset_v = by_part.with_columns(offset_v=pl.col("rows").cum_sum() - pl.col("rows")).select("part", "offset_v")
        per = per.with_columns(offset_s=(pl.col("rows").cum_sum() - pl.col("rows")).over("s"))
        spark = frame.sparkSession
        offsets = spark.createDataFrame(per.select("part", "s", "offset_s").join(offset_v, on="part").to_arrow())
        cells = cells.join(F.broadcast(offsets), ["part", "s"])
        # mid-rank = rows of smaller values + (t + 1) / 2, as numeric_stats_from_cells
        mid = F.col("offset_v") + F.col("upto") - (F.col("t") - 1) / 2
        cum = F.col("offset_s") + F.col("upto_s")  # rows of the segment up to and including this value
        sizes = cells.groupBy("s").agg(F.sum("n").alias("size"))
        cells = cells.join(F.broadcast(sizes), "s")
        # The two middle rows of a segment, as _medians: rows (size + 1) // 2 and size // 2 + 1.
        lo, hi = F.floor((F.col("size") + 1) / 2), F.floor(F.col("size") / 2) + 1

        def at(target: Any) -> Any:
            return (cum >= target) & (cum - F.col("n") < target)

        per_segment = engine.to_polars(cells.groupBy("s").agg(
            F.sum("n").alias("n"),
            F.sum(F.col("n") * F.col("v")).alias("total"),
            F.sum(F.col("n") * mid).alias("rank_sum"),
            F.max(F.when(at(lo), F.col("v"))).alias("lo"),
            F.max(F.when(at(hi), F.col("v"))).alias("hi"),
        ))
        spread = engine.to_polars(_values(frame, segment, name).groupBy("s").agg(
            (F.var_pop("v") * F.count("v")).alias("m2")))
        t = F.col("t").cast("long").cast("double")
        tie = cells.select("part", "v", "t").distinct().where(F.col("t") > 1).agg(F.sum(t * t * t - t)).collect()[0][0]
        table = (pl.DataFrame({"s": labels}).with_row_index("code")
                 .join(per_segment.join(spread, on="s", how="left"), on="s", how="left", maintain_order="left"))
        n = table["n"].fill_null(0).to_numpy().astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, table["total"].fill_null(0).to_numpy() / np.maximum(n, 1), np.nan)
        median = ((table["lo"] + table["hi"]) / 2).fill_null(np.nan).to_numpy().astype(float)
        return NumericStats(n, mean, table["m2"].fill_null(0.0).to_numpy().astype(float),
                            table["rank_sum"].fill_null(0.0).to_numpy().astype(float), median, int(n.sum()),
                            float(tie or 0.0))

    return stats
