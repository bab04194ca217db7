"""Charts of ``segment churn score`` tables: the score distribution and the alert levels."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, bar_chart, binned, histogram_panels, _enc
from segment.report._kinds import Kind

_ALERTS = {"domain": ["red", "amber", "green"], "range": ["#d62728", "#f5a623", "#54a24b"]}


def alerts(frame: pl.LazyFrame) -> Chart:
    """Customers per alert level, with their mean churn probability."""
    data = (frame.with_columns(pl.col("alert").cast(pl.String))
            .group_by("alert").agg(customers=pl.len(), mean_p_churn=pl.col("p_churn").mean())
            .with_columns(order=pl.col("alert").replace_strict(_ALERTS["domain"], [0, 1, 2], default=3))
            .sort("order", "alert").drop("order").collect())
    chart = bar_chart("alerts", "Customers per alert level", data, "alert", "customers",
                      color=_enc("alert", "nominal", None, scale=_ALERTS, legend=None))
    chart.spec["encoding"]["tooltip"].append(_enc("mean_p_churn", "quantitative", format=".1%"))
    return chart


def scores(frame: pl.LazyFrame) -> Chart:
    bins, note = binned(frame, "p_churn", bins=20, top=1.0)
    data = bins.with_columns(metric=pl.lit("p_churn")).select("metric", "start", "end", "customers")
    return histogram_panels("scores", "Churn probability", data, [("p_churn", "P(churn)")], subtitle=note)


def deciles(frame: pl.LazyFrame) -> pl.DataFrame:
    """Customers and mean probability per score decile (1 = highest risk)."""
    return (frame.group_by("decile").agg(customers=pl.len(), mean_p_churn=pl.col("p_churn").mean(),
                                         lowest_p_churn=pl.col("p_churn").min())
            .sort("decile").collect())


KINDS = (
    Kind("churn-score", "Churn scores", "churn score", None, ("p_churn", "decile", "alert"),
         charts=(("alerts", "customers per alert level", alerts), ("scores", "churn probability histogram", scores)),
         tables=(("Score deciles", deciles),), per_customer=True, call_order=("p_churn", True)),
)
