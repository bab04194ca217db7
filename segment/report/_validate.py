"""Charts of ``segment validate-segment`` tables: estimates with intervals, effects, the merge map."""

from __future__ import annotations

import polars as pl

from segment.report._charts import GREY, Chart, _enc, bar_chart, spec
from segment.report._kinds import Kind

_VERDICTS = {"domain": ["differs", "negligible effect", "no difference", "not replicated"],
             "range": ["#54a24b", "#f58518", GREY, "#e45756"]}


def effects(frame: pl.LazyFrame) -> Chart:
    """The effect size of each outcome's omnibus test, coloured by its verdict."""
    data = (frame.select("outcome", "test", "effect", "effect_size", "effect_label", "p_adjusted", "verdict")
            .with_columns(pl.col("outcome").cast(pl.String)).collect())
    color = _enc("verdict", "nominal", "verdict", scale=_VERDICTS)
    chart = bar_chart("effects", "Do the segments differ? Effect size per outcome", data, "outcome", "effect_size",
                      color=color, value_title="effect size (see the effect column)",
                      subtitle="Cramer's V, epsilon squared or eta squared, by the outcome's test")
    chart.spec["encoding"]["tooltip"] += [_enc("effect", "nominal"), _enc("effect_label", "nominal"),
                                          _enc("p_adjusted", "quantitative", format=".3g")]
    return chart


def outcome_table(frame: pl.LazyFrame) -> pl.DataFrame:
    names = frame.collect_schema().names()
    keep = [c for c in ("outcome", "kind", "test", "n", "segments", "p_adjusted", "effect", "effect_size",
                        "effect_label", "verdict") if c in names]
    return frame.select(keep).collect()


def estimates(frame: pl.LazyFrame) -> Chart:
    """Per outcome, each segment's rate, share, median or mean with its interval."""
    data = (frame.with_columns(pl.col("segment").cast(pl.String), pl.col("outcome").cast(pl.String),
                               pl.col("level").cast(pl.String))
            .with_columns(panel=pl.when(pl.col("level").is_null()).then(pl.col("outcome"))
                          .otherwise(pl.col("outcome") + " = " + pl.col("level")))
            .select("panel", "outcome", "segment", "n", "statistic", "value", "ci_low", "ci_high").collect())
    panels = data.unique("panel", maintain_order=True)
    views = []
    for panel, statistic in panels.select("panel", "statistic").rows():
        y = _enc("segment", "nominal", "segment", sort=data.filter(pl.col("panel") == panel)["segment"].to_list())
        views.append({
            "title": f"{panel} ({statistic})", "width": 360, "height": {"step": 20},
            "transform": [{"filter": {"field": "panel", "equal": panel}}],
            "encoding": {"y": y},
            "layer": [{"mark": {"type": "rule", "strokeWidth": 2, "color": "#4c78a8"},
                       "encoding": {"x": _enc("ci_low", "quantitative", statistic, scale={"zero": False}),
                                    "x2": {"field": "ci_high"}}},
                      {"mark": {"type": "point", "filled": True, "size": 60, "color": "#1f4e79"},
                       "encoding": {"x": _enc("value", "quantitative"),
                                    "tooltip": [_enc("segment", "nominal"), _enc("n", "quantitative", format=","),
                                                _enc("value", "quantitative", format=",.3~f"),
                                                _enc("ci_low", "quantitative", format=",.3~f"),
                                                _enc("ci_high", "quantitative", format=",.3~f")]}}]})
    intervals = data["ci_low"].null_count() < data.height
    title = "Segment estimates per outcome" + (" with intervals" if intervals else "")
    subtitle = None if intervals else "no intervals: run validate-segment with --bootstrap B for them"
    return Chart("estimates", title, spec(title, data, {"vconcat": views}, subtitle=subtitle), data)


def merge_map(frame: pl.LazyFrame) -> Chart:
    """Segment sizes, coloured by the group each segment is merged into."""
    data = (frame.with_columns(pl.col("segment").cast(pl.String), pl.col("merged_segment").cast(pl.String))
            .select("segment", "merged_segment", "n", "action").collect())
    color = _enc("merged_segment", "nominal", "merged into")
    chart = bar_chart("merge-map", "Merge map: which segments the data cannot tell apart", data, "segment", "n",
                      color=color, value_title="rows", subtitle="segments of one colour merge into one")
    chart.spec["encoding"]["tooltip"].append(_enc("action", "nominal"))
    return chart


def merge_table(frame: pl.LazyFrame) -> pl.DataFrame:
    names = frame.collect_schema().names()
    keep = [c for c in ("segment", "merged_segment", "n", "share", "action", "reason") if c in names]
    return frame.select(keep).collect()


def pairs_table(frame: pl.LazyFrame) -> pl.DataFrame:
    """The pairs that differ significantly, largest effect first."""
    names = frame.collect_schema().names()
    keep = [c for c in ("outcome", "segment_a", "segment_b", "value_a", "value_b", "p_adjusted", "effect_size",
                        "effect_label") if c in names]
    return (frame.filter(pl.col("significant")).sort(pl.col("effect_size").abs(), descending=True)
            .head(20).select(keep).collect())


KINDS = (
    Kind("validate-segment", "Segment validation", "validate-segment", None,
         ("outcome", "test", "p_adjusted", "effect_size", "verdict"),
         charts=(("effects", "effect size per outcome", effects),), tables=(("Outcomes", outcome_table),)),
    Kind("validate-profile", "Segment estimates", "validate-segment", "profile",
         ("outcome", "segment", "statistic", "value", "ci_low", "ci_high"),
         charts=(("estimates", "segment estimates with confidence intervals", estimates),),
         may_be_null=("ci_low", "ci_high")),
    Kind("validate-merge-map", "Merge map", "validate-segment", "merge-map",
         ("segment", "merged_segment", "n", "action", "reason"),
         charts=(("merge-map", "segment sizes by merged group", merge_map),), tables=(("Merge map", merge_table),)),
    Kind("validate-pairs", "Segment pairs", "validate-segment", "pairs",
         ("outcome", "segment_a", "segment_b", "p_adjusted", "significant"),
         charts=(), tables=(("Pairs that differ (top 20 by effect)", pairs_table),)),
)
