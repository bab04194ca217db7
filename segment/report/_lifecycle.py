"""Charts of ``segment lifecycle`` tables: stage shares by month, the transition matrix, KPI lines."""

from __future__ import annotations

import polars as pl

from segment.lifecycle import STAGES
from segment.report._charts import Chart, _enc, bar_chart, heatmap_chart, spec
from segment.report._kinds import Kind

_STAGE_COLORS = {"domain": list(STAGES), "range": ["#4c78a8", "#72b7b2", "#54a24b", "#f58518", "#e45756"]}


def _text(frame: pl.LazyFrame, *columns: str) -> pl.LazyFrame:
    """Stages and months as text (an Enum or a Date would not mix with CSV input)."""
    return frame.with_columns(pl.col(c).cast(pl.String) for c in columns)


def _stage_sort() -> pl.Expr:
    return pl.col("stage").replace_strict(list(STAGES), list(range(len(STAGES))), default=len(STAGES))


def _month(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Months as ``YYYY-MM`` text whichever way the table stores them."""
    return frame.with_columns(pl.col("month").cast(pl.String).str.slice(0, 7))


def _shares_chart(data: pl.DataFrame) -> Chart:
    title = "Stage shares by month"
    body = {"mark": {"type": "area"},
            "encoding": {"x": _enc("month", "temporal", "month", timeUnit="yearmonth", axis={"format": "%b %Y"}),
                         "y": _enc("share", "quantitative", "share of customers", stack="normalize",
                                   axis={"format": "%"}),
                         "color": _enc("stage", "nominal", "stage", scale=_STAGE_COLORS, sort=list(STAGES)),
                         "order": _enc("order", "quantitative"),
                         "tooltip": [_enc("month", "temporal", timeUnit="yearmonth"), _enc("stage", "nominal"),
                                     _enc("customers", "quantitative", format=","),
                                     _enc("share", "quantitative", format=".1%")]}}
    return Chart("shares", title, spec(title, data, body, width=520), data)


def shares_from_history(frame: pl.LazyFrame) -> Chart:
    """Stage shares per month from a ``--history`` table (counted first, then drawn)."""
    data = (_month(_text(frame, "stage")).filter(pl.col("stage").is_not_null())
            .group_by("month", "stage").agg(customers=pl.len())
            .with_columns(share=pl.col("customers") / pl.col("customers").sum().over("month"), order=_stage_sort())
            .sort("month", "order").collect())
    return _shares_chart(data)


def shares_from_kpis(frame: pl.LazyFrame) -> Chart:
    data = (_month(_text(frame, "stage")).select("month", "stage", "customers", "share")
            .with_columns(order=_stage_sort()).sort("month", "order").collect())
    return _shares_chart(data)


def kpi_lines(frame: pl.LazyFrame) -> Chart:
    """Each KPI per stage over the months: churn next month, customers entering, revenue."""
    names = frame.collect_schema().names()
    kpis = [(c, label, fmt) for c, label, fmt in (("churn_next_month", "churn next month", ".1%"),
                                                  ("entered", "customers entering the stage", ","),
                                                  ("revenue", "revenue", ",.0f")) if c in names]
    data = (_month(_text(frame, "stage"))
            .select("month", "stage", *[pl.col(c).cast(pl.Float64) for c, _, _ in kpis])
            .with_columns(order=_stage_sort()).sort("month", "order").collect())
    views = [{"mark": {"type": "line", "point": {"size": 12}}, "width": 460, "height": 150, "title": label,
              "encoding": {"x": _enc("month", "temporal", "month", timeUnit="yearmonth", axis={"format": "%b %Y"}),
                           "y": _enc(c, "quantitative", label, **({"axis": {"format": "%"}} if fmt == ".1%" else {})),
                           "color": _enc("stage", "nominal", "stage", scale=_STAGE_COLORS, sort=list(STAGES)),
                           "tooltip": [_enc("month", "temporal", timeUnit="yearmonth"), _enc("stage", "nominal"),
                                       _enc(c, "quantitative", format=fmt)]}}
             for c, label, fmt in kpis]
    title = "Lifecycle KPIs by month"
    return Chart("kpis", title, spec(title, data, {"vconcat": views}), data)


def stage_sizes(frame: pl.LazyFrame) -> Chart:
    """Customers per stage (and subtype) in the snapshot month."""
    names = frame.collect_schema().names()
    by = ["stage", "subtype"] if "subtype" in names else ["stage"]
    data = (_text(frame, *by).filter(pl.col("stage").is_not_null()).group_by(by).agg(customers=pl.len())
            .with_columns(order=_stage_sort()).sort("order", *by[1:], nulls_last=True).collect())
    if "subtype" in by:
        data = data.with_columns(pl.col("subtype").fill_null("(none)"))
    color = _enc("subtype", "nominal", "subtype") if "subtype" in by else None
    return bar_chart("stages", "Customers per stage", data, "stage", "customers", color=color,
                     sort=[s for s in STAGES if s in set(data["stage"].to_list())])


def stage_table(frame: pl.LazyFrame) -> pl.DataFrame:
    """Customers and share per stage."""
    return (_text(frame, "stage").group_by("stage").agg(customers=pl.len())
            .with_columns(share=pl.col("customers") / pl.col("customers").sum(), order=_stage_sort())
            .sort("order", nulls_last=True).drop("order").collect())


def matrix(frame: pl.LazyFrame) -> Chart:
    """The monthly transition probabilities, from (rows) to (columns)."""
    data = (_text(frame, "from", "to").select("from", "to", "moves", "probability")
            .sort(pl.col("from").replace_strict(list(STAGES), list(range(len(STAGES))), default=len(STAGES)),
                  pl.col("to").replace_strict(list(STAGES), list(range(len(STAGES))), default=len(STAGES)))
            .collect())
    order = [s for s in STAGES if s in set(data["from"].to_list()) | set(data["to"].to_list())]
    return heatmap_chart("matrix", "Stage transitions: probability of next month's stage", data, "to", "from",
                         "probability", x_title="next month", y_title="this month", text="probability",
                         text_format=".2f", x_sort=order, y_sort=order, x_type="nominal", y_type="nominal", cell=70,
                         subtitle="each row adds up to 1")


def matrix_table(frame: pl.LazyFrame) -> pl.DataFrame:
    """The matrix wide: one row per stage this month, one column per stage next month."""
    data = _text(frame, "from", "to").select("from", "to", "probability").collect()
    order = [s for s in STAGES if s in set(data["from"].to_list()) | set(data["to"].to_list())]
    wide = data.pivot(on="to", index="from", values="probability")
    wide = wide.select("from", *[s for s in order if s in wide.columns])
    return wide.sort(pl.col("from").replace_strict(order, list(range(len(order))), default=len(order)))


def projection(frame: pl.LazyFrame) -> Chart:
    """Stage shares projected month by month with the transition matrix."""
    data = (_text(frame, "stage").select("months_ahead", "stage", "customers", "share")
            .with_columns(order=_stage_sort()).sort("months_ahead", "order").collect())
    title = "Projected stage shares (today's customers, no new acquisitions)"
    body = {"mark": {"type": "line", "point": True},
            "encoding": {"x": _enc("months_ahead", "ordinal", "months ahead"),
                         "y": _enc("share", "quantitative", "share", axis={"format": "%"}),
                         "color": _enc("stage", "nominal", "stage", scale=_STAGE_COLORS, sort=list(STAGES)),
                         "tooltip": [_enc("months_ahead", "ordinal"), _enc("stage", "nominal"),
                                     _enc("customers", "quantitative", format=",.0f"),
                                     _enc("share", "quantitative", format=".1%")]}}
    return Chart("projection", title, spec(title, data, body), data)


KINDS = (
    Kind("lifecycle", "Lifecycle stages", "lifecycle", None, ("stage", "tenure", "months_in_stage"),
         charts=(("stages", "customers per stage", stage_sizes),), tables=(("Stages", stage_table),),
         per_customer=True, call_order=("months_in_stage", True), excludes=("month",)),
    Kind("lifecycle-history", "Lifecycle stages by month", "lifecycle", None,
         ("month", "stage", "tenure", "months_in_stage"),
         charts=(("shares", "stage shares by month", shares_from_history),), per_customer=True,
         call_order=("month", True)),
    Kind("lifecycle-kpis", "Lifecycle KPIs", "lifecycle", "kpis", ("month", "stage", "customers", "share", "entered"),
         charts=(("shares", "stage shares by month (stacked area)", shares_from_kpis),
                 ("kpis", "KPI lines", kpi_lines)), may_be_null=("entered",)),
    Kind("lifecycle-transitions", "Stage transitions", "lifecycle transitions", None,
         ("from", "to", "moves", "probability"),
         charts=(("matrix", "transition matrix heatmap", matrix),), tables=(("Transition matrix", matrix_table),)),
    Kind("lifecycle-projection", "Stage projection", "lifecycle transitions", "projection",
         ("month", "months_ahead", "stage", "customers", "share"),
         charts=(("projection", "projected stage shares", projection),)),
)
