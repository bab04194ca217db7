"""Charts of ``segment cluster`` tables: sizes with noise, the profile heatmap, stability."""

from __future__ import annotations

import polars as pl

from segment.report._charts import GREY, Chart, _enc, bar_chart, heatmap_chart, spec
from segment.report._kinds import Kind

#: Hennig's reading of clusterboot's mean Jaccard: below 0.6 the group dissolves, 0.75 and above it is stable.
STABILITY_LINES = (0.6, 0.75)
#: Standardised differences beyond this are drawn at it (inf for constant flags).
CLIP = 3.0


def _label(col: str = "cluster") -> pl.Expr:
    return pl.when(pl.col(col) == -1).then(pl.lit("noise")).otherwise(pl.col(col).cast(pl.String)).alias("label")


def _sizes(data: pl.DataFrame) -> Chart:
    data = data.with_columns(pl.when(pl.col("cluster") == -1).then(pl.lit("noise")).otherwise(pl.lit("cluster"))
                             .alias("group"))
    color = _enc("group", "nominal", None, scale={"domain": ["cluster", "noise"], "range": ["#4c78a8", GREY]},
                 legend=None)
    return bar_chart("sizes", "Customers per cluster (grey: noise)", data, "label", "customers", color=color,
                     category_title="cluster")


def sizes(frame: pl.LazyFrame) -> Chart:
    """Customers per cluster, noise (-1) last and grey."""
    data = (frame.group_by("cluster").agg(customers=pl.len())
            .sort(pl.col("cluster") == -1, "cluster").with_columns(_label()).collect())
    return _sizes(data.select("cluster", "label", "customers"))


def profile_sizes(frame: pl.LazyFrame) -> Chart:
    data = (frame.select("cluster", "customers").sort(pl.col("cluster") == -1, "cluster")
            .with_columns(_label()).collect())
    return _sizes(data.select("cluster", "label", "customers"))


def profile_table(frame: pl.LazyFrame) -> pl.DataFrame:
    """Size, share, stability and the distinctive features per cluster."""
    names = frame.collect_schema().names()
    keep = [c for c in ("cluster", "customers", "share", "stability", "stability_reading", "distinctive") if c in names]
    return frame.select(keep).sort(pl.col("cluster") == -1, "cluster").collect()


def differences(frame: pl.LazyFrame) -> Chart:
    """Standardised difference (Cohen's d) of each feature per cluster against all other customers."""
    names = frame.collect_schema().names()
    features = [c[: -len("_diff")] for c in names if c.endswith("_diff")]
    data = (frame.select("cluster", *[pl.col(f"{f}_diff").alias(f) for f in features])
            .sort(pl.col("cluster") == -1, "cluster").with_columns(_label())
            .unpivot(index=["cluster", "label"], variable_name="feature", value_name="d")
            .with_columns(shown=pl.col("d").clip(-CLIP, CLIP))
            # Unpivot keeps no row order of its own: clusters as in the profile, features as given.
            .sort(pl.col("cluster") == -1, "cluster",
                  pl.col("feature").replace_strict(features, list(range(len(features)))))
            .collect())
    order = data.unique("cluster", maintain_order=True)["label"].to_list()
    return heatmap_chart("profile", "How each cluster differs from the rest (standardised difference)", data,
                         "feature", "label", "shown", y_title="cluster", color_title="d", text="d",
                         text_format="+.1f", scheme="redblue", domain=(-CLIP, CLIP), y_sort=order, x_sort=features,
                         x_type="nominal", y_type="nominal", cell=70,
                         subtitle=f"Cohen's d on the clustered scale; |d| >= 0.5 is a medium effect; "
                                  f"colours stop at +-{CLIP:g}")


def stability(frame: pl.LazyFrame) -> Chart | None:
    """Mean bootstrap Jaccard per cluster against Hennig's 0.6 and 0.75 lines."""
    if "stability" not in frame.collect_schema().names():
        return None
    data = (frame.filter(pl.col("cluster") != -1).select("cluster", "stability").sort("cluster")
            .with_columns(_label()).collect())
    if data["stability"].null_count() == data.height:
        return None
    lines = pl.DataFrame({"line": list(STABILITY_LINES), "reading": ["dissolved below", "stable above"]})
    title = "Cluster stability (bootstrap Jaccard)"
    body = {"layer": [
        {"mark": {"type": "bar"},
         "encoding": {"y": _enc("label", "nominal", "cluster", sort=data["label"].to_list()),
                      "x": _enc("stability", "quantitative", "mean Jaccard", scale={"domain": [0, 1]}),
                      "tooltip": [_enc("label", "nominal", "cluster"), _enc("stability", "quantitative", format=".2f")]}},
        {"data": {"values": [{"line": v, "reading": r} for v, r in lines.rows()]},
         "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#d62728"},
         "encoding": {"x": _enc("line", "quantitative"), "tooltip": [_enc("reading", "nominal")]}},
    ]}
    return Chart("stability", title, spec(title, data, body, height=max(60, 22 * data.height),
                                          subtitle="Hennig: below 0.6 not trustworthy, 0.75 and above stable"), data)


KINDS = (
    Kind("cluster", "Clusters", "cluster", None, ("cluster", "cluster_probability", "outlier_score"),
         charts=(("sizes", "sizes with noise", sizes),),
         per_customer=True, call_order=("cluster", False), keeps_input=True),
    Kind("cluster-profile", "Cluster profile", "cluster", "profile", ("cluster", "customers", "share", "distinctive"),
         charts=(("profile", "profile heatmap (standardised differences)", differences),
                 ("sizes", "sizes with noise", profile_sizes),
                 ("stability", "stability against the 0.6 and 0.75 lines", stability)),
         tables=(("Clusters", profile_table),)),
)
