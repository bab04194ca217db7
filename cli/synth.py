"""``segment synth``: realistic telecom data with planted ground truth."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .parsing import split_list
from .render import frame_table
from .run import Run, given_options

NAME = "synth"
READS_TABLE = False  # it writes tables from a seed
EXAMPLE = "segment synth --customers 2000 --seed 1 --out synth/"


def command(
    output: Annotated[str, typer.Option(
        "--out", "--output", "-o", help="Folder for the tables (created if missing; its parent must exist).",
        rich_help_panel=opt.IO_PANEL, show_default=False)],
    to: Annotated[opt.FolderFormat | None, typer.Option(
        "--to", "--format", help="Format of every table \\[default: parquet].",
        rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    customers: Annotated[int, typer.Option(
        help="Customer lines (customer_id), re-entered persons' new lines included.")] = 2000,
    months: Annotated[int, typer.Option(help="Panel months (1-240).")] = 24,
    seed: opt.Seed = 0,
    start: Annotated[str, typer.Option(help="First panel month, YYYY-MM.")] = "2023-01",
    tables: Annotated[str | None, typer.Option(
        help="Comma-separated subset of: panel, customers, transactions, truth_panel, truth_customers, "
        "truth_effects \\[default: all]; with --complaints also complaints, truth_complaints; with --b2b: "
        "b2b_panel, truth_b2b.", show_default=False)] = None,
    complaints: Annotated[float, typer.Option(
        help="Also write complaint texts (Chinese and English) with planted themes: the rate at which "
        "customers who stay mention each theme, scaled (churners mention network, billing and service "
        "more). 0: no complaint tables.")] = 0.0,
    b2b: Annotated[bool, typer.Option(
        "--b2b", help="Group (enterprise) accounts instead: --customers accounts with several lines each, their "
        "six lifecycle stages planted (tables b2b_panel, truth_b2b).")] = False,
    campaign: Annotated[str | None, typer.Option(
        help="Instead: campaign outcomes for this call list (with group = treat|control and p_churn), "
        "written as table campaign: contacted, would_churn, saved, churned, value_kept.",
        show_default=False)] = None,
    save_rate: Annotated[float, typer.Option(help="With --campaign: planted share of contacted would-be churners "
                                             "the action keeps.")] = 0.3,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Generate telecom data with planted ground truth: panel, customers, transactions and truth tables."""
    from segment.synth import synth

    # --complaints 0 (off), no --b2b and the campaign options unused are left out of provenance: files
    # written without them stay byte-identical to those of earlier releases (the bundled sample among them).
    options = {k: v for k, v in given_options().items()
               if (k not in ("complaints", "b2b") or v)
               and (k not in ("campaign", "save_rate") or campaign is not None)}
    with Run(NAME, options) as run:
        if campaign is not None:
            return _outcomes(run, campaign, output, to, seed=seed, save_rate=save_rate)
        if b2b:
            return _b2b(run, output, to, customers, months, seed, start, tables)
        data = synth(customers, months, seed=seed, start=start, tables=split_list(tables), complaints=complaints)
        with run.progress() as report:
            rows = run.write_tables(data.chunks(report), output, data.tables, to, details=data.params())
        run.summary(*summary_tables(rows, data.stats, output))


def _b2b(run: Run, output: str, to: opt.FolderFormat | None, accounts: int, months: int, seed: int, start: str,
         tables: str | None) -> None:
    from segment.synth import b2b

    data = b2b(accounts, months, seed=seed, start=start, tables=split_list(tables))
    with run.progress() as report:
        rows = run.write_tables(data.chunks(report), output, data.tables, to, details=data.params())
    files = pl.DataFrame({"table": list(rows), "rows": list(rows.values())})
    stages = pl.DataFrame({"true stage": list(data.stats["stages"]),
                           "account-months": list(data.stats["stages"].values())})
    total = max(stages["account-months"].sum(), 1)
    stages = stages.with_columns(share=pl.col("account-months") / total * 100).rename({"share": "share %"})
    run.summary(frame_table(files, title=f"segment synth --b2b -> {output}"),
                f"{data.stats['accounts']:,} accounts with {data.stats['lines']:,} lines",
                frame_table(stages, title="Planted B2B lifecycle stages (truth)", digits=1))


def summary_tables(rows: dict[str, int], stats: dict, folder: str):
    files = pl.DataFrame({"table": list(rows), "rows": list(rows.values())})
    n = max(stats["customers"], 1)
    caption = (f"{stats['customers']:,} customers; {stats['churned'] / n:.1%} churned within the window, "
               f"{stats['reentries']:,} came back under a new id")
    stages = pl.DataFrame({"true stage": list(stats["stages"]), "customer-months": list(stats["stages"].values())})
    total = max(stages["customer-months"].sum(), 1)
    stages = stages.with_columns(share=pl.col("customer-months") / total * 100).rename({"share": "share %"})
    return (frame_table(files, title=f"segment synth -> {folder}"), caption,
            frame_table(stages, title="Planted lifecycle stages (truth)", digits=1))


def _outcomes(run: Run, call_list: str, output: str, to: object, *, seed: int, save_rate: float) -> None:
    from segment.synth import campaign_outcomes

    calls = run.read(call_list)
    frame = campaign_outcomes(calls.frame, save_rate=save_rate, seed=seed)
    rows = run.write_tables([{"campaign": frame}], output, ["campaign"], to,
                            details={"save_rate": save_rate, "seed": seed})
    run.summary(frame_table(pl.DataFrame({"table": list(rows), "rows": list(rows.values())}),
                            title=f"segment synth -> {output}"),
                f"planted save rate {save_rate:.0%}: {int(frame['saved'].sum()):,} of "
                f"{int((frame['contacted'] & frame['would_churn']).sum()):,} contacted would-be churners kept")
