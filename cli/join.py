"""``segment join``: one row per customer from the per-customer outputs of several commands."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .render import frame_table
from .run import Run

NAME = "join"
EXAMPLE = "segment join rfm.parquet stages.parquet scores.parquet -o customers.parquet"


class How(str, Enum):
    left = "left"
    inner = "inner"


def command(
    inputs: Annotated[list[str], typer.Argument(help="Per-customer tables (rfm, cluster, lifecycle, churn score, "
                                                "clv outputs, or any table with the id); - for stdin once.",
                                                show_default=False)],
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    how: Annotated[How, typer.Option(help="left: the first table's customers; inner: customers in every "
                                     "table.")] = How.left,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Join per-customer tables on the id: clashing columns get the making command as prefix; provenance of every input is kept."""
    from segment.campaign import join
    from segment.columns import whole_numbers_as_integers

    with Run(NAME) as run:
        tables = [run.read(path, fmt=from_, string_columns=[id]) for path in inputs]
        run.check_outputs(output, to=to)
        result = join([whole_numbers_as_integers(t.frame, t.numbers_from_text) for t in tables], names=list(inputs), id=id, how=how.value,
                      commands=[(t.provenance or {}).get("command") for t in tables])
        run.write(result.table, output, to, details=result.params())
        run.summary(lambda: summary_table(result, inputs))


def summary_table(result, inputs: list[str]):
    df = pl.DataFrame({
        "input": inputs,
        "customers": [result.rows[n] for n in inputs],
        "missing": [result.missing[n] for n in inputs],
        "columns": [len(result.columns[n]) for n in inputs],
        "prefixed": [", ".join(v for k, v in result.columns[n].items() if k != v) for n in inputs],
    })
    caption = f"{result.table.height:,} customers kept, {result.dropped:,} left out"
    return frame_table(df, title="segment join", caption=caption)
