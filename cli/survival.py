"""``segment survival``: Kaplan-Meier curves per segment, hazard by tenure month, log-rank tests."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import polars as pl
import typer

from . import options as opt
from .lifecycle import _with_panel_options
from .parsing import split_list
from .render import frame_table
from .run import Run

NAME = "survival"
EXAMPLE = "segment survival customers.csv --duration tenure --event churn --by contract -o curves.csv"
SNAPSHOT = "Snapshot columns"
TESTS_PANEL = "Tests"


class EventKind(str, Enum):
    churn = "churn"
    exit = "exit"


def _side(help: str) -> Any:
    return typer.Option(help=help, rich_help_panel=opt.IO_PANEL, show_default=False)


@_with_panel_options
def command(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    duration: Annotated[str | None, typer.Option(help="Snapshot: whole months of tenure completed (integers >= 0).",
                                                 rich_help_panel=SNAPSHOT, show_default=False)] = None,
    event: Annotated[str | None, typer.Option(help="Snapshot: churned? 1/0, yes/no or true/false (0 = still a "
                                                   "customer, censored).", rich_help_panel=SNAPSHOT,
                                              show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help="Segment column: one curve per value (panel: the line's value in its "
                                                "first month; 'stage' with --since: the lifecycle stage then).",
                                           rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    panel: dict[str, Any] = None,  # type: ignore[assignment]
    since: Annotated[str | None, typer.Option(help="Panel: count lifetimes from this month (YYYY-MM), for the lines "
                                                   "not yet exited then.", show_default=False)] = None,
    event_kind: Annotated[EventKind, typer.Option(help="Panel: the event is churn (re-entries and number swaps are "
                                                       "censored) or any exit.")] = EventKind.churn,
    at: Annotated[str, typer.Option(help="Months after which the summary gives the share still there.")] = "3,6,12,24",
    correction: Annotated[opt.Correction, opt.correction("Correction of the pairwise log-rank p-values.",
                                                         TESTS_PANEL)] = opt.Correction.holm,
    summary: Annotated[str | None, _side("Also write per group: lines, events, median lifetime, survival at --at "
                                         "months, to FILE.")] = None,
    pairs: Annotated[str | None, _side("Also write the pairwise log-rank tests to FILE.")] = None,
    calendar: Annotated[str | None, _side("Panel: also write the churn rate by calendar month (seasonal peaks) "
                                          "to FILE.")] = None,
    verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """When customers leave: survival curves and monthly hazard per segment, compared by log-rank tests."""
    from segment.errors import OptionError
    from segment.survival import survival

    with Run(NAME) as run:
        times = [_month(t) for t in split_list(at) or []]
        usage = any(panel[k] for k in ("voice", "data", "revenue", "metrics"))
        if calendar and not usage:
            raise OptionError("--calendar needs a monthly panel (usage columns such as --voice)")
        table = run.read(input, fmt=from_, string_columns=[c for c in (by, panel["id"] if usage else None) if c])
        run.check_outputs(output, summary, pairs, calendar, to=to)
        result = survival(table.frame, duration=duration, event=event, by=by, panel=panel if usage else None,
                          since=since, event_kind=event_kind.value, times=times, correction=correction.value,
                          calendar=bool(calendar))
        details = {**result.params, "stats": result.stats}
        for frame, path, role in ((result.summary, summary, "summary"), (result.pairs, pairs, "pairs"),
                                  (result.calendar, calendar, "calendar")):
            if path and frame is not None:
                run.write_side(frame, path, role=role, details=details)
        run.write(result.curves, output, to, details=details)
        run.summary(*survival_report(result))


def _month(text: str) -> int:
    from segment.errors import OptionError

    try:
        return int(text)
    except ValueError:
        raise OptionError(f"--at takes whole months, e.g. 3,6,12,24; got {text!r}") from None


def _p(p: float) -> str:
    from segment.stats.pvalue import format_p

    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def survival_report(result: Any) -> list[Any]:
    from segment.stats.pvalue import format_p

    stats = result.stats
    caption = (f"{stats['lines']:,} lines, {stats['events']:,} events; median lifetime in months (blank: more "
               "than half are still there); blank share: nobody followed that long")
    # Narrow enough for an 80-column terminal: shares as percentages under short headers.
    shares = [c for c in result.summary.columns if c.startswith("survival_")]
    view = result.summary.select("group", "lines", "events", pl.col("median_lifetime").alias("median"),
                                 *(pl.col(c).mul(100).alias(f"{c.removeprefix('survival_')} mo %") for c in shares))
    out = [frame_table(view, title="Share still there after N months (Kaplan-Meier)", digits=1, caption=caption)]
    if result.logrank is not None:
        test = result.logrank
        text = f"log-rank across {stats['groups']} groups: chi2 = {test.statistic:.1f}, df = {test.df}, p {_p(test.pvalue)}; pairs adjusted: {result.params['correction']}"
        pairs = result.pairs.with_columns(pl.col("p_value", "p_adjusted").map_elements(format_p, return_dtype=pl.String))
        out.append(frame_table(pairs, title="Pairwise log-rank", digits=1, caption=text))
    return out
