"""``segment churn effect``: after the campaign, churn and value kept in the treated group against the control.

Registered in the ``churn`` group (``cli/churn.py``), next to ``churn score --control`` that draws
the control group.
"""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from . import options as opt
from .parsing import split_list
from .render import frame_table
from .run import Run

NAME = "churn effect"
EXAMPLE = "segment churn effect calls_ab.parquet outcomes.parquet --outcome churned --value value_kept"
TESTS_PANEL = "Tests"


def effect(
    call_list: Annotated[str, typer.Argument(help="The call list with column group = treat|control "
                                             "(segment sample, or churn score --control).", show_default=False)],
    outcomes: Annotated[str, typer.Argument(help="Outcomes after the campaign: one row per customer with the "
                                            "churn flag (and the value kept).", show_default=False)],
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    outcome: Annotated[str, typer.Option(help="Yes/no churn column of OUTCOMES.",
                                         rich_help_panel=opt.COLUMNS_PANEL)] = "churned",
    value: Annotated[str | None, typer.Option(help="Value kept per customer (e.g. revenue over the window): "
                                              "compared with Welch's t; gives the campaign's net value.",
                                              rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    group: Annotated[str, typer.Option(help="Group column of the call list (treat|control).",
                                       rich_help_panel=opt.COLUMNS_PANEL)] = "group",
    by: Annotated[str | None, typer.Option(help="Also break the effect down by these columns, e.g. decile,lever "
                                           "\\[default: decile when the call list has it]; none for overall only.",
                                           rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    offer_cost: Annotated[float, typer.Option(help="Cost of the offer per treated customer, taken off the "
                                              "value kept (with --value).")] = 0.0,
    detect: Annotated[float, typer.Option(help="Drop in the churn rate the campaign must be able to detect "
                                          "(0.03 = 3 points); warns when the groups are too small for it.",
                                          rich_help_panel=TESTS_PANEL)] = 0.03,
    power: Annotated[float, typer.Option(help="Power wanted for --detect and the detectable drop.",
                                         rich_help_panel=TESTS_PANEL)] = 0.8,
    alpha: Annotated[float, opt.alpha("Significance level (two-sided); intervals are 1 - alpha.", TESTS_PANEL)] = 0.05,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """The measured effect of a retention campaign: churn of the treated against the control, the save rate for the next --save-rate, and the net value."""
    from segment.campaign import effect as measure
    from segment.columns import whole_numbers_as_integers

    with Run(NAME) as run:
        calls = run.read(call_list, fmt=from_, string_columns=[id])
        outs = run.read(outcomes, fmt=from_, string_columns=[id])
        run.check_outputs(output, to=to)
        columns = calls.columns
        chosen = (["decile"] if "decile" in columns else []) if by is None else \
            [] if by.lower() == "none" else split_list(by)
        result = measure(whole_numbers_as_integers(calls.frame, calls.numbers_from_text),
                         whole_numbers_as_integers(outs.frame, outs.numbers_from_text), id=id, outcome=outcome, value=value, group=group, by=chosen,
                         alpha=alpha, power_target=power, detect=detect, offer_cost=offer_cost)
        run.write(result.table, output, to, details={**result.params(), "stats": result.stats})
        run.summary(lambda: summary_table(result.table, value is not None), result.power_line())


def summary_table(table: pl.DataFrame, value: bool):
    from segment.stats.pvalue import format_p

    def span(x: float | None, lo: float | None, hi: float | None, scale: float, digits: int) -> str:
        if x is None:
            return "n/a"
        bounds = f" [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]" if lo is not None and hi is not None else ""
        return f"{x * scale:.{digits}f}{bounds}"

    rows = []
    for r in table.iter_rows(named=True):
        row = {"level": r["level"] if r["by"] == "all" else f"{r['by']} {r['level']}",
               "treat": r["n_treat"], "control": r["n_control"],
               "churn % treat / ctrl": f"{span(r['churn_treat'], None, None, 100, 1)} / "
                                       f"{span(r['churn_control'], None, None, 100, 1)}",
               "diff pts [CI]": span(r["churn_diff"], r["diff_low"], r["diff_high"], 100, 1),
               "p": f"{format_p(r['p_value'])} {r['test']}",
               "save % [CI]": span(r["save_rate"], r["save_low"], r["save_high"], 100, 0)}
        if value:
            row["net value [CI]"] = span(r["net_value"], r["net_low"], r["net_high"], 1, 0)
        rows.append(row)
    top = table.row(0, named=True)
    caption = None
    if top["save_rate"] is not None:
        caption = (f"save rate {top['save_rate']:.0%} (CI {top['save_low']:.0%} to {top['save_high']:.0%}): "
                   "use it as the next --save-rate")
    return frame_table(pl.DataFrame(rows), title="Campaign effect (treated - control)", caption=caption)
