"""Charts of ``segment survival`` curves: Kaplan-Meier survival with its band, and the hazard by time."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, _enc, spec
from segment.report._kinds import Kind


def _curves(frame: pl.LazyFrame) -> pl.DataFrame:
    return (frame.with_columns(pl.col("group").cast(pl.String))
            .select("group", "time", "at_risk", "events", "survival", "lower", "upper", "hazard")
            .sort("group", "time").collect())


def kaplan_meier(frame: pl.LazyFrame) -> Chart:
    """Survival per group as steps, with its 95% band."""
    data = _curves(frame)
    title = "Kaplan-Meier survival with 95% bands"
    x = _enc("time", "quantitative", "time (periods of tenure)")
    body = {"encoding": {"x": x, "color": _enc("group", "nominal", "group")}, "layer": [
        {"mark": {"type": "area", "interpolate": "step-after", "opacity": 0.18},
         "encoding": {"y": _enc("lower", "quantitative", "share still a customer", scale={"domain": [0, 1]},
                                axis={"format": "%"}), "y2": {"field": "upper"}}},
        {"mark": {"type": "line", "interpolate": "step-after"},
         "encoding": {"y": _enc("survival", "quantitative"),
                      "tooltip": [_enc("group", "nominal"), _enc("time", "quantitative"),
                                  _enc("at_risk", "quantitative", format=","),
                                  _enc("survival", "quantitative", format=".1%"),
                                  _enc("lower", "quantitative", format=".1%"),
                                  _enc("upper", "quantitative", format=".1%")]}}]}
    return Chart("km", title, spec(title, data, body, width=520), data)


def hazard(frame: pl.LazyFrame) -> Chart:
    """When customers leave: the hazard per period of tenure and group."""
    data = _curves(frame).select("group", "time", "at_risk", "events", "hazard")
    title = "Hazard by tenure: the share of those still there who leave in each period"
    body = {"mark": {"type": "line", "point": {"size": 12}},
            "encoding": {"x": _enc("time", "quantitative", "time (periods of tenure)"),
                         "y": _enc("hazard", "quantitative", "hazard", axis={"format": "%"}),
                         "color": _enc("group", "nominal", "group"),
                         "tooltip": [_enc("group", "nominal"), _enc("time", "quantitative"),
                                     _enc("events", "quantitative", format=","),
                                     _enc("hazard", "quantitative", format=".2%")]}}
    return Chart("hazard", title, spec(title, data, body, width=520), data)


def medians(frame: pl.LazyFrame) -> pl.DataFrame:
    """Per group: customers at the start, events, and the median lifetime (first time survival <= 50%)."""
    data = _curves(frame)
    return (data.group_by("group", maintain_order=True)
            .agg(customers=pl.col("at_risk").first(), events=pl.col("events").sum(),
                 median_lifetime=pl.col("time").filter(pl.col("survival") <= 0.5).first(),
                 last_survival=pl.col("survival").last()))


KINDS = (
    Kind("survival", "Survival", "survival", None,
         ("group", "time", "at_risk", "events", "survival", "lower", "upper", "hazard"),
         charts=(("km", "Kaplan-Meier curves with bands", kaplan_meier), ("hazard", "hazard by tenure", hazard)),
         tables=(("Median lifetime per group", medians),), may_be_null=("lower", "upper", "hazard")),
)
