"""Charts of ``segment rules`` tables: support vs confidence coloured by lift, the top rules."""

from __future__ import annotations

import polars as pl

from segment.report._charts import Chart, _enc, spec
from segment.report._kinds import Kind

#: Rules drawn as points at most; more are binned into cells (a rule table is rarely that long).
MAX_POINTS = 5_000
TOP = 15


def scatter(frame: pl.LazyFrame) -> Chart:
    """arulesViz's default plot: each rule at its support and confidence, coloured by lift."""
    names = frame.collect_schema().names()
    rows = frame.select(pl.len()).collect().item()
    title = "Rules: support vs confidence, coloured by lift"
    if rows > MAX_POINTS:
        # Aggregate first: cells of support x confidence, coloured by the best lift in the cell.
        data = (frame.select(support=(pl.col("support") * 200).floor() / 200,
                             confidence=(pl.col("confidence") * 50).floor() / 50, lift="lift")
                .group_by("support", "confidence").agg(rules=pl.len(), lift=pl.col("lift").max())
                .sort("support", "confidence").collect())
        body = {"mark": {"type": "square", "size": 40},
                "encoding": {"x": _enc("support", "quantitative"), "y": _enc("confidence", "quantitative"),
                             "color": _enc("lift", "quantitative", "max lift", scale={"scheme": "reds"}),
                             "tooltip": [_enc("rules", "quantitative"), _enc("lift", "quantitative", format=".2f")]}}
        return Chart("scatter", title, spec(title, data, body, subtitle=f"{rows:,} rules binned into cells"), data)
    keep = [c for c in ("antecedent", "consequent", "support", "confidence", "lift", "customers") if c in names]
    data = frame.select(keep).sort("lift", "support", "antecedent", descending=[False, False, False]).collect()
    body = {"mark": {"type": "circle", "opacity": 0.8, "size": 40},
            "encoding": {"x": _enc("support", "quantitative", scale={"zero": False}),
                         "y": _enc("confidence", "quantitative", scale={"zero": False}),
                         "color": _enc("lift", "quantitative", scale={"scheme": "reds"}),
                         "tooltip": [_enc(c, "nominal" if c in ("antecedent", "consequent") else "quantitative",
                                          **({} if c in ("antecedent", "consequent") else {"format": ",.3~f"}))
                                     for c in keep]}}
    return Chart("scatter", title, spec(title, data, body, subtitle="higher lift drawn on top"), data)


def top_rules(frame: pl.LazyFrame) -> pl.DataFrame:
    """The strongest rules by lift, with how many customers each covers and how many churned."""
    names = frame.collect_schema().names()
    keep = [c for c in ("antecedent", "consequent", "customers", "target_customers", "confidence", "lift",
                        "p_adjusted") if c in names]
    out = frame.sort("lift", "support", "antecedent", descending=[True, True, False]).head(TOP).select(keep).collect()
    return out.rename({"target_customers": "with target"} if "target_customers" in keep else {})


KINDS = (
    Kind("rules", "Association rules", "rules", None, ("antecedent", "consequent", "support", "confidence", "lift"),
         charts=(("scatter", "support vs confidence coloured by lift", scatter),),
         tables=((f"Top {TOP} rules by lift", top_rules),)),
)
