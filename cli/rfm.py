"""``segment rfm``: RFM scores and named value segments from transactions."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .parsing import parse_breaks
from .render import frame_table
from .run import Run

NAME = "rfm"
EXAMPLE = "segment rfm tx.csv -o rfm.parquet --thresholds rfm-breaks.csv"


class Frequency(str, Enum):
    transactions = "transactions"
    days = "days"


class Monetary(str, Enum):
    sum = "sum"
    mean = "mean"


class Returns(str, Enum):
    net = "net"
    drop = "drop"
    error = "error"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    date: opt.Date = "date",
    amount: opt.Amount = "amount",
    quantity: Annotated[str | None, typer.Option(help="Quantity column; amount becomes amount x quantity.",
                                                 rich_help_panel=opt.COLUMNS_PANEL)] = None,
    order: Annotated[str | None, typer.Option(help="Order (invoice) column: frequency counts distinct orders, "
                                              "not rows.", rich_help_panel=opt.COLUMNS_PANEL)] = None,
    date_format: opt.DateFormat = None,
    as_of: Annotated[str | None, typer.Option(help="Analysis date YYYY-MM-DD (default: the day after the last transaction).",
                                              show_default=False)] = None,
    bins: Annotated[int, typer.Option(help="Scores per metric (2-10).")] = 5,
    frequency: Annotated[Frequency, typer.Option(help="Count purchases (transactions) or distinct purchase days.")] = Frequency.transactions,
    monetary: Annotated[Monetary, typer.Option(help="Total spend (sum) or spend per purchase (mean).")] = Monetary.sum,
    returns: Annotated[Returns, typer.Option(help="Negative amounts: net them, drop them, or error.")] = Returns.net,
    breaks: Annotated[str | None, typer.Option(help="Explicit breakpoints, e.g. 'r=30,90,180,365; f=2,3,5,10'.",
                                               show_default=False)] = None,
    segments: Annotated[str, typer.Option(help="Segment table: default, none, or a TOML/CSV file of score ranges.")] = "default",
    thresholds: Annotated[str | None, typer.Option(help="Also write the breakpoints used per metric and score to FILE.",
                                                   rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    btyd: Annotated[bool, typer.Option(help="Add BTYD/CLV columns (lifetimes' summary_data_from_transaction_data).")] = False,
    holdout_end: Annotated[str | None, typer.Option(help="With --as-of: add what each customer bought after --as-of "
                                                    "up to this date (frequency_holdout, monetary_holdout).",
                                                    show_default=False)] = None,
    strict: Annotated[bool, typer.Option(help="Empty customer ids are an error instead of being dropped.")] = False,
    engine: opt.EngineOption = opt.Engine.polars,
    spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None,
    spark_table: opt.SparkTable = None,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """RFM scores and named value segments from transactions (one row per customer)."""
    from segment.rfm import rfm
    from segment.rfm import load_segments

    with Run(NAME) as run:
        tx = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                             spark_table=spark_table, fmt=from_, string_columns=[id, *([order] if order else [])])
        check = run.check_dataset if engine is opt.Engine.spark else run.check_outputs
        check(output, thresholds, to=to)
        choice = segments.lower()
        table = {"default": "default", "none": None}[choice] if choice in ("default", "none") else load_segments(segments)
        result = rfm(tx.frame, id=id, date=date, amount=amount, quantity=quantity, order=order, as_of=as_of, bins=bins,
                     frequency=frequency.value, monetary=monetary.value, returns=returns.value,
                     breaks=parse_breaks(breaks), segments=table, btyd=btyd, holdout_end=holdout_end, strict=strict,
                     date_format=date_format)
        if thresholds:
            run.write_side(result.thresholds, thresholds, role="thresholds", details=result.params())
        run.write(result.table, output, to, details={**result.params(), "stats": result.stats},
                  rows=result.stats.get("customers"))
        run.summary(lambda: summary_table(result.table, result.stats, result.as_of))


def summary_table(table: pl.DataFrame, stats: dict[str, int], as_of: object):
    by = "segment" if "segment" in table.columns else "rfm_cell"
    if isinstance(table, pl.DataFrame):
        medians = table.group_by(by).agg(customers=pl.len(), recency=pl.col("recency").median(),
                                         frequency=pl.col("frequency").median(),
                                         monetary=pl.col("monetary").median())
    else:  # a Spark DataFrame: only the per-segment aggregates come back
        from pyspark.sql import functions as F

        from segment.spark import to_polars

        medians = to_polars(table.groupBy(by).agg(F.count(F.lit(1)).alias("customers"),
                                                  *[F.median(c).alias(c) for c in ("recency", "frequency",
                                                                                   "monetary")]))
    n = medians["customers"].sum()
    df = (
        medians.with_columns(share=pl.col("customers") / n * 100)
        .sort("customers", by, descending=[True, False])
        .select(by, "customers", "share", "recency", "frequency", "monetary")
        .rename({"share": "share %", "recency": "median R", "frequency": "median F", "monetary": "median M"})
    )
    caption = (f"{n:,} customers from {stats.get('transactions', 0):,} transactions "
               f"({stats.get('returns', 0):,} returns), as of {as_of}")
    return frame_table(df, title="RFM segments", digits=1, caption=caption)
