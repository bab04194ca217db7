"""Charts of ``segment rfm`` tables: the R x F heatmap, segment sizes and value, R/F/M histograms."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, _enc, bar_chart, binned, heatmap_chart, histogram_panels, spec
from segment.report._kinds import Kind


def _segment_column(frame: pl.LazyFrame) -> str:
    return "segment" if "segment" in frame.collect_schema().names() else "rfm_cell"


def rxf(frame: pl.LazyFrame) -> Chart:
    """Mean monetary value per recency and frequency score (R's rfm_heatmap)."""
    data = (frame.group_by("r_score", "f_score")
            .agg(customers=pl.len(), mean_monetary=pl.col("monetary").mean())
            .sort("r_score", "f_score").collect())
    return heatmap_chart("rxf", "Mean monetary value by recency and frequency score", data, "f_score", "r_score",
                         "mean_monetary", x_title="frequency score", y_title="recency score (5 = recent)",
                         color_title="mean monetary", text="mean_monetary", text_format=",.0f",
                         y_sort="descending", subtitle="cells without customers are left blank")


def segment_summary(frame: pl.LazyFrame) -> pl.DataFrame:
    """Customers, share and medians per segment, largest first."""
    by = _segment_column(frame)
    return (frame.group_by(by)
            .agg(customers=pl.len(), monetary_total=pl.col("monetary").sum(),
                 median_recency=pl.col("recency").median(), median_frequency=pl.col("frequency").median(),
                 median_monetary=pl.col("monetary").median())
            .with_columns(share=pl.col("customers") / pl.col("customers").sum(),
                          value_share=pl.col("monetary_total") / pl.col("monetary_total").sum())
            .sort(["customers", by], descending=[True, False])
            .select(by, "customers", "share", "monetary_total", "value_share", "median_recency",
                    "median_frequency", "median_monetary")
            .collect())


def segments(frame: pl.LazyFrame) -> Chart:
    """Customers and share of total value per segment, side by side."""
    data = segment_summary(frame)
    by = data.columns[0]
    order = data[by].to_list()
    views = [{"mark": {"type": "bar"}, "width": 260, "height": max(60, 22 * data.height),
              "encoding": {"y": _enc(by, "nominal", by, sort=order),
                           "x": _enc(field, "quantitative", label, **({"axis": {"format": "%"}} if pct else {})),
                           "tooltip": [_enc(by, "nominal"), _enc(field, "quantitative", format=".1%" if pct else ",")]}}
             for field, label, pct in (("customers", "customers", False), ("value_share", "share of total monetary", True))]
    views[1]["encoding"]["y"]["axis"] = None
    body = {"hconcat": views, "spacing": 8}
    title = "Segment sizes and value"
    return Chart("segments", title, spec(title, data, body,
                                         subtitle="a segment worth more than its size: right bar longer than left"),
                 data)


def histograms(frame: pl.LazyFrame) -> Chart:
    """Recency, frequency and monetary distributions, binned before drawing."""
    parts, notes = [], []
    for metric in ("recency", "frequency", "monetary"):
        bins, note = binned(frame, metric)
        parts.append(bins.with_columns(metric=pl.lit(metric)).select("metric", "start", "end", "customers"))
        if note:
            notes.append(note)
    data = pl.concat(parts)
    return histogram_panels("histograms", "Recency, frequency and monetary", data,
                            [("recency", "recency (days)"), ("frequency", "frequency"), ("monetary", "monetary")],
                            subtitle="; ".join(notes) or None)


def thresholds_chart(frame: pl.LazyFrame) -> Chart | None:
    """Customers per score of each metric (the breakpoints in use)."""
    names = frame.collect_schema().names()
    if not {"metric", "score", "n"} <= set(names):
        return None
    data = frame.select("metric", "score", customers="n").sort("metric", "score").collect()
    body = {"mark": {"type": "bar"},
            "encoding": {"x": _enc("score", "ordinal", "score"), "y": _enc("customers", "quantitative"),
                         "column": _enc("metric", "nominal", None),
                         "tooltip": [_enc("metric", "nominal"), _enc("score", "ordinal"),
                                     _enc("customers", "quantitative", format=",")]}}
    title = "Customers per score"
    return Chart("scores", title, spec(title, data, body, width=160, height=160), data)


KINDS = (
    Kind("rfm", "RFM segments", "rfm", None, ("recency", "frequency", "monetary", "r_score", "f_score", "m_score"),
         charts=(("rxf", "R x F heatmap of mean monetary", rxf), ("segments", "segment sizes and value", segments),
                 ("histograms", "R/F/M histograms", histograms)),
         tables=(("Segments", segment_summary),), per_customer=True, call_order=("monetary", True)),
    Kind("rfm-thresholds", "RFM breakpoints", "rfm", "thresholds", ("metric", "score", "n", "share", "min", "max"),
         charts=(("scores", "customers per score", thresholds_chart),),
         tables=(("Breakpoints", lambda f: f.collect()),)),
)
