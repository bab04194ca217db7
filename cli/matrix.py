"""``segment matrix``: the stage x value-segment matrix, with the lever planned for each cell."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .run import Run

NAME = "matrix"
EXAMPLE = "segment matrix customers.parquet --rows stage --cols segment --outcome churn --levers levers.toml"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    rows: Annotated[str, typer.Option(help="Column of the matrix's rows, e.g. the lifecycle stage.",
                                      rich_help_panel=opt.COLUMNS_PANEL)] = "stage",
    cols: Annotated[str, typer.Option(help="Column of the matrix's columns, e.g. the RFM value segment.",
                                      rich_help_panel=opt.COLUMNS_PANEL)] = "segment",
    value: Annotated[str | None, typer.Option(help="Value column (e.g. clv, monetary): total and mean per cell.",
                                              rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    outcome: Annotated[str | None, typer.Option(help="Yes/no churn column: churn rate per cell.",
                                                rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    levers: Annotated[str | None, typer.Option(help="TOML file of [[lever]] rules (row, col patterns -> name): "
                                               "the planned lever of each cell.", show_default=False)] = None,
    customers: Annotated[str | None, typer.Option(help="Also write every customer with the lever of its cell "
                                                  "to FILE (needs --levers).", rich_help_panel=opt.IO_PANEL,
                                                  show_default=False)] = None,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Customers, value and churn rate per cell of two segmentations (stage x value), and the planned lever."""
    from segment.campaign import load_levers, matrix
    from segment.columns import whole_numbers_as_integers
    from segment.errors import OptionError

    with Run(NAME) as run:
        if customers and not levers:
            raise OptionError("--customers writes each customer's lever: give --levers FILE too")
        rules = load_levers(levers) if levers else None
        table = run.read(input, fmt=from_)
        run.check_outputs(output, customers, to=to)
        result = matrix(whole_numbers_as_integers(table.frame, table.numbers_from_text), rows=rows, cols=cols, value=value, outcome=outcome, levers=rules)
        if customers:
            run.write_side(result.customers, customers, role="customers", details=result.params())
        run.write(result.cells, output, to, details=result.params())
        run.summary(lambda: grid(result.cells, rows, cols))


def grid(cells: pl.DataFrame, rows: str, cols: str):
    """The matrix as people read it; the side with more values runs down, so that it fits a terminal."""
    from rich.table import Table

    order_r = cells[rows].unique(maintain_order=True).to_list()
    order_c = sorted(cells[cols].unique().to_list())
    lookup = {(r[rows], r[cols]): r for r in cells.iter_rows(named=True)}
    down, across, flip = (order_c, order_r, True) if len(order_c) > len(order_r) else (order_r, order_c, False)
    what = ", ".join(["customers", *(["churn %"] if "churn_rate" in cells.columns else []),
                      *(["lever"] if "lever" in cells.columns else [])])
    table = Table(title=f"{rows} x {cols}: {what}", title_justify="left")
    table.add_column(cols if flip else rows)
    for a in across:
        table.add_column(a, justify="right")
    for d in down:
        line = []
        for a in across:
            cell = lookup.get((a, d) if flip else (d, a))
            if cell is None:
                line.append("")
                continue
            text = f"{cell['customers']:,}"
            if cell.get("churn_rate") is not None:
                text += f" {100 * cell['churn_rate']:.0f}%"
            if cell.get("lever"):
                text += f"\n{cell['lever']}"
            line.append(text)
        table.add_row(d, *line)
    return table
