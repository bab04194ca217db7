"""Charts of ``segment churn score`` tables: the score distribution and the alert levels."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, _enc, bar_chart, binned, histogram_panels, spec
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


def gains(frame: pl.LazyFrame) -> Chart:
    """Cumulative share of churners captured by the top deciles, against random targeting."""
    data = (frame.select("decile", "customers", "churners", "capture").sort("decile")
            .with_columns(customers_share=pl.col("customers").cum_sum() / pl.col("customers").sum())
            .collect())
    title = "Gains: churners captured by calling the riskiest first"
    body = {"layer": [
        {"mark": {"type": "line", "point": True},
         "encoding": {"x": _enc("customers_share", "quantitative", "share of customers called (by decile)",
                                axis={"format": "%"}, scale={"domain": [0, 1]}),
                      "y": _enc("capture", "quantitative", "share of churners captured", axis={"format": "%"},
                                scale={"domain": [0, 1]}),
                      "tooltip": [_enc("decile", "ordinal"), _enc("capture", "quantitative", format=".1%")]}},
        {"data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
         "mark": {"type": "line", "strokeDash": [4, 3], "color": "#9e9e9e"},
         "encoding": {"x": _enc("x", "quantitative"), "y": _enc("y", "quantitative")}}]}
    return Chart("gains", title, spec(title, data, body, width=320, height=320,
                                      subtitle="dashed: random calling"), data)


def lift(frame: pl.LazyFrame) -> Chart:
    """Lift per decile (bars) and cumulative lift (line), against the base rate of 1."""
    data = frame.select("decile", "churn_rate", "lift", "cum_lift").sort("decile").collect()
    title = "Lift by score decile (1 = highest risk)"
    x = _enc("decile", "ordinal", "decile")
    body = {"layer": [
        {"mark": {"type": "bar", "color": "#4c78a8"},
         "encoding": {"x": x, "y": _enc("lift", "quantitative", "lift (churn rate / base rate)"),
                      "tooltip": [_enc("decile", "ordinal"), _enc("lift", "quantitative", format=".2f"),
                                  _enc("churn_rate", "quantitative", format=".1%")]}},
        {"mark": {"type": "line", "point": True, "color": "#e45756"},
         "encoding": {"x": x, "y": _enc("cum_lift", "quantitative"),
                      "tooltip": [_enc("cum_lift", "quantitative", format=".2f", title="cumulative lift")]}},
        {"data": {"values": [{"base": 1}]}, "mark": {"type": "rule", "strokeDash": [4, 3]},
         "encoding": {"y": _enc("base", "quantitative")}}]}
    return Chart("lift", title, spec(title, data, body, subtitle="bars: per decile; red: cumulative"), data)


KINDS = (
    Kind("churn-score", "Churn scores", "churn score", None, ("p_churn", "decile", "alert"),
         charts=(("alerts", "customers per alert level", alerts), ("scores", "churn probability histogram", scores)),
         tables=(("Score deciles", deciles),), per_customer=True, call_order=("p_churn", True)),
    Kind("churn-evaluate", "Churn model evaluation", "churn evaluate", None,
         ("decile", "customers", "churners", "churn_rate", "lift", "cum_lift", "capture"),
         charts=(("gains", "gains curve", gains), ("lift", "lift by decile", lift)),
         tables=(("Deciles", lambda f: f.sort("decile").collect()),)),
)
