"""``segment rules``: plans and services that go with churn, and which rules are real."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import polars as pl
import typer
from rich.text import Text

from . import options as opt
from .parsing import parse_breaks, split_list
from .render import frame_table
from .run import Run

NAME = "rules"
EXAMPLE = "segment rules snapshot.csv --target churn=Yes -o rules.csv"

MINING = "Mining"
TESTS = "Tests and filters"


class Sort(str, Enum):
    lift = "lift"
    leverage = "leverage"
    p = "p"
    confidence = "confidence"


class Engine(str, Enum):
    mlxtend = "mlxtend"
    bitset = "bitset"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    target: Annotated[str, typer.Option(help="Target column, or column=value (churn, churn=Yes); with --long, "
                                             "the item marking target customers.",
                                        rich_help_panel=opt.COLUMNS_PANEL)] = "churn",
    items: Annotated[str | None, typer.Option(help="Columns to make items from, a,b,c (default: all but id and "
                                                   "target); with --long, item values.",
                                              rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    exclude: Annotated[str | None, typer.Option(help="Columns (with --long, item values) to leave out, a,b,c.",
                                                rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    long: Annotated[bool, typer.Option(help="Input is long: one row per customer and item.",
                                       rich_help_panel=opt.COLUMNS_PANEL)] = False,
    item: Annotated[str, typer.Option(help="Item column of --long input.", rich_help_panel=opt.COLUMNS_PANEL)] = "item",
    bins: Annotated[int, typer.Option(help="Quantile bins per number column.", rich_help_panel=MINING)] = 4,
    breaks: Annotated[str | None, typer.Option(help="Explicit bin breaks, e.g. 'tenure=12,24; Monthly Charges=50,80'.",
                                               rich_help_panel=MINING, show_default=False)] = None,
    with_no: Annotated[bool, typer.Option(help="Yes/no columns also give column=no items.",
                                          rich_help_panel=MINING)] = False,
    negative: Annotated[bool, typer.Option(help="Also mine rules X -> not target (what goes with staying).",
                                           rich_help_panel=MINING)] = False,
    min_support: Annotated[float | None, typer.Option(help="Minimum rule support, a fraction of customers "
                                                           "(default: 0.01).", rich_help_panel=MINING,
                                                      show_default=False)] = None,
    min_count: Annotated[int | None, typer.Option(help="Minimum rule support as a number of customers "
                                                       "(instead of --min-support).", rich_help_panel=MINING,
                                                  show_default=False)] = None,
    min_confidence: Annotated[float, typer.Option(help="Minimum confidence.", rich_help_panel=MINING)] = 0.0,
    min_lift: Annotated[float, typer.Option(help="Minimum lift.", rich_help_panel=MINING)] = 1.0,
    max_len: Annotated[int, typer.Option(help="Most items in a rule's antecedent.", rich_help_panel=MINING)] = 3,
    engine: Annotated[Engine, typer.Option(help="Miner: mlxtend's fpgrowth, or bitset (same rules, faster).",
                                           rich_help_panel=MINING)] = Engine.mlxtend,
    correction: Annotated[opt.Correction, opt.correction("Multiple-testing correction over all mined rules.",
                                                         TESTS)] = opt.Correction.holm,
    alpha: Annotated[float, opt.alpha("Significance level of the adjusted p-value.", TESTS)] = 0.05,
    keep_redundant: Annotated[bool, typer.Option(help="Keep rules no better than a shorter one (flagged).",
                                                 rich_help_panel=TESTS)] = False,
    keep_insignificant: Annotated[bool, typer.Option(help="Keep rules that are not significant (flagged).",
                                                     rich_help_panel=TESTS)] = False,
    productive: Annotated[bool, typer.Option(help="Keep only rules significantly better than each shorter "
                                                  "rule inside them (Webb).", rich_help_panel=TESTS)] = False,
    sort: Annotated[Sort, typer.Option(help="Order, significant rules first.", rich_help_panel=TESTS)] = Sort.lift,
    top: Annotated[int | None, typer.Option(help="Keep only the first N rules.", rich_help_panel=TESTS,
                                            show_default=False)] = None,
    item_table: Annotated[str | None, typer.Option(help="Also write the items used (customers, target rate) "
                                                        "to FILE.", rich_help_panel=opt.IO_PANEL,
                                                   show_default=False)] = None,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Association rules X -> target (churn), tested with Fisher's exact test, redundant ones dropped."""
    from segment.rules import rules

    with Run(NAME) as run:
        table = run.read(input, fmt=from_, string_columns=[id])
        run.check_outputs(output, item_table, to=to)
        with run.progress("mining") as report:
            result = rules(table.frame, target=target, id=id, items=split_list(items), exclude=split_list(exclude),
                           long=long, item=item, bins=bins, breaks=parse_breaks(breaks), with_no=with_no,
                           negative=negative, min_support=min_support, min_count=min_count,
                           min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                           correction=correction.value, alpha=alpha, keep_redundant=keep_redundant,
                           keep_insignificant=keep_insignificant, productive=productive, sort=sort.value,
                           top=top, engine=engine.value, progress=report)
        details = {**result.params, "stats": result.stats}
        if item_table:
            run.write_side(result.items, item_table, role="item-table", details=details)
        run.write(result.table, output, to, details=details)
        run.summary(summary_table(result.table, result.stats, result.params))


def summary_table(table: pl.DataFrame, stats: dict[str, int], params: dict):
    columns = ["antecedent", "n_rule", "confidence", "lift", "p_adjusted"]
    if len(params["consequents"]) > 1:
        columns.insert(1, "consequent")
    # All written rules go to the table, which shows 10 and says "10 of N rows shown".
    shown = table.select(columns).with_columns(
        pl.Series("p_adjusted", [f"{p:.2g}" for p in table["p_adjusted"]], dtype=pl.String)
    ).rename({"n_rule": "customers", "p_adjusted": "p adj."})
    caption = (f"{stats['customers']:,} customers, {stats['target_customers']:,} with {params['positive']} "
               f"({100 * params['base_rate']:.1f}%); {stats['items']:,} items; {stats['mined']:,} rules mined "
               f"and tested ({params['correction']}), {stats['passing_thresholds']:,} pass the thresholds, "
               f"{stats['significant']:,} significant, {stats['non_redundant']:,} of them not redundant; "
               f"{stats['written']:,} written")
    if table.height == 0:
        return Text(f"No rule to show. {caption}")
    return frame_table(shown, title="Rules", digits=3, max_rows=10, caption=caption)
