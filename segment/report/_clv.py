"""Charts of ``segment clv`` scores: the CLV distribution by segment, and P(alive)."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, _enc, binned, histogram_panels, spec
from segment.report._kinds import Kind

#: Columns that name a segment, looked for in this order (a CLV table keeps its input's columns).
SEGMENT_COLUMNS = ("segment", "cluster", "stage", "group")


def _segment(frame: pl.LazyFrame) -> str | None:
    names = frame.collect_schema().names()
    return next((c for c in SEGMENT_COLUMNS if c in names), None)


def by_segment(frame: pl.LazyFrame) -> Chart:
    """CLV quantiles (10-25-50-75-90%) per segment: a box plot drawn from five numbers."""
    by = _segment(frame)
    grouped = frame.with_columns((pl.col(by).cast(pl.String) if by else pl.lit("all")).alias("segment"))
    clv = pl.col("clv")
    data = (grouped.group_by("segment")
            .agg(customers=pl.len(), total=clv.sum(), p10=clv.quantile(0.1, "linear"),
                 p25=clv.quantile(0.25, "linear"), median=clv.median(), p75=clv.quantile(0.75, "linear"),
                 p90=clv.quantile(0.9, "linear"))
            .sort("median", "segment", descending=[True, False]).collect())
    y = _enc("segment", "nominal", by or "segment", sort=data["segment"].to_list())
    title = "CLV by segment"
    body = {"encoding": {"y": y}, "layer": [
        {"mark": {"type": "rule"}, "encoding": {"x": _enc("p10", "quantitative", "CLV"), "x2": {"field": "p90"}}},
        {"mark": {"type": "bar", "size": 14}, "encoding": {"x": _enc("p25", "quantitative"), "x2": {"field": "p75"}}},
        {"mark": {"type": "tick", "color": "white", "size": 14},
         "encoding": {"x": _enc("median", "quantitative"),
                      "tooltip": [_enc("segment", "nominal"), _enc("customers", "quantitative", format=","),
                                  *[_enc(c, "quantitative", format=",.0f")
                                    for c in ("p10", "p25", "median", "p75", "p90", "total")]]}}]}
    return Chart("by-segment", title, spec(title, data, body, height=max(60, 24 * data.height),
                                           subtitle="box: middle half of customers; line: 10% to 90%; tick: median"),
                 data)


def distributions(frame: pl.LazyFrame) -> Chart:
    """CLV and P(alive), binned."""
    parts, notes = [], []
    for metric in ("clv", "p_alive"):
        bins, note = binned(frame, metric)
        parts.append(bins.with_columns(metric=pl.lit(metric)).select("metric", "start", "end", "customers"))
        notes += [note] if note else []
    return histogram_panels("distributions", "CLV and probability alive", pl.concat(parts),
                            [("clv", "CLV"), ("p_alive", "P(alive)")], subtitle="; ".join(notes) or None)


def segment_table(frame: pl.LazyFrame) -> pl.DataFrame:
    return by_segment(frame).data


KINDS = (
    Kind("clv", "Customer lifetime value", "clv score", None, ("clv", "p_alive"),
         charts=(("by-segment", "CLV distribution by segment", by_segment),
                 ("distributions", "CLV and P(alive) histograms", distributions)),
         tables=(("CLV per segment", segment_table),), per_customer=True, call_order=("clv", True),
         keeps_input=True),
)
