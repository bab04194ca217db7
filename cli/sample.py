"""``segment sample``: hold out a seeded, stratified control group from a call list."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .render import frame_table
from .run import Run

NAME = "sample"
EXAMPLE = "segment sample calls.parquet --control 10% --seed 1 -o calls_ab.parquet"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    control: Annotated[str, typer.Option(help="Share of the customers worth calling held out as control, "
                                         "1%-50% (10% or 0.1).")] = "10%",
    strata: Annotated[str, typer.Option(help="Column the control is stratified by, so that it has the same risk "
                                        "mix as the treated; none for a simple random sample.",
                                        rich_help_panel=opt.COLUMNS_PANEL)] = "decile",
    eligible: Annotated[str, typer.Option(help="Yes/no column marking whom to call; only those get a group "
                                          "(all rows when the column is absent).",
                                          rich_help_panel=opt.COLUMNS_PANEL)] = "call",
    seed: opt.Seed = 0,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Add a column group = treat|control: a seeded control share, stratified by decile, of the customers to call."""
    from segment.columns import whole_numbers_as_integers
    from segment.stats.sampling import assign_control, parse_share

    with Run(NAME) as run:
        share = parse_share(control)
        calls = run.read(input, fmt=from_, string_columns=[id])
        run.check_outputs(output, to=to)
        out = assign_control(whole_numbers_as_integers(calls.frame, calls.numbers_from_text), id=id, share=share, seed=seed,
                             strata=None if strata.lower() == "none" else strata, eligible=eligible)
        run.write(out, output, to, details={"share": share, "strata": strata, "eligible": eligible, "seed": seed})
        run.summary(lambda: summary_table(out, None if strata.lower() == "none" else strata))


def summary_table(out: pl.DataFrame, strata: str | None):
    by = [strata] if strata else []
    df = (out.filter(pl.col("group").is_not_null())
          .group_by(by or pl.lit("all").alias("stratum"))
          .agg(customers=pl.len(), control=(pl.col("group") == "control").sum())
          .with_columns(treat=pl.col("customers") - pl.col("control"),
                        share=pl.col("control") / pl.col("customers") * 100)
          .sort(by or "stratum").rename({"share": "control %"}))
    left = out["group"].null_count()
    caption = (f"{out.height - left:,} customers to call, {int((out['group'] == 'control').sum()):,} held out "
               f"as control; {left:,} not to call")
    return frame_table(df, title="Control group", digits=1, caption=caption)
