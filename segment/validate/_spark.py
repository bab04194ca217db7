"""``validate-segment`` on Spark: the rows are counted on the cluster, everything else is shared.

Every statistic of :func:`segment.validate.validate_segment` comes from
sufficient statistics: chi-square from segment x level counts, and
Kruskal-Wallis, medians, means and variances from counts per (segment,
value) (:func:`segment.stats.groupstats.numeric_stats_from_cells`: mid-ranks
from cumulative counts, with the tie correction). Spark computes those
counts with one group-by; the counted table comes back to the driver and
runs through the same preparation, tests, pairs and merge map as the polars
engine, each row standing for its count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from segment import spark as engine
from segment.columns import require_columns
from segment.errors import DataError, OptionError

#: Distinct (segment, outcome values) combinations brought back to the driver at most.
MAX_CELLS = 2_000_000


def counted(frame: Any, *, segment: str, outcomes: Sequence[str], id: str | None) -> pl.DataFrame:
    """Rows per distinct (segment, outcomes...) combination, column :data:`segment.spark.COUNT`."""
    from pyspark.sql import functions as F

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
    columns = list(dict.fromkeys([segment, *outcomes]))
    cells = engine.to_polars(frame.groupBy(*columns).agg(F.count(F.lit(1)).alias(engine.COUNT))
                             .limit(MAX_CELLS + 1))
    if cells.height > MAX_CELLS:
        raise DataError(f"segment {segment!r} and outcomes {', '.join(map(repr, outcomes))} take more than "
                        f"{MAX_CELLS:,} distinct combinations of values, too many to count on the driver; "
                        "validate numeric outcomes one at a time, or round them")
    return cells.with_columns(pl.col(engine.COUNT).cast(pl.Int64))
