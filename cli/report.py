"""``segment report``: every chart, the key tables and each input's provenance in one offline HTML file."""

from __future__ import annotations

from typing import Annotated

import typer

from . import options as opt
from .plot import write_bytes
from .run import Run

NAME = "report"
EXAMPLE = "segment report out/*.parquet out/*.csv -o report.html --title 'Segmentation, June'"


def command(
    inputs: Annotated[list[str], typer.Argument(
        help="Tables segment wrote (files, or - for stdin once), in any order: the report follows the workflow.",
        show_default=False)],
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the HTML report here (atomically). Default: stdout.",
        rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    from_: opt.From = None,
    title: Annotated[str, typer.Option(help="The report's title.")] = "segment report",
    kind: Annotated[list[str] | None, typer.Option(
        help="The kind of an input (FILE=KIND, repeatable, e.g. scores.csv=rfm) where neither provenance "
             "nor columns tell it.", show_default=False)] = None,
    include_rows: Annotated[int, typer.Option(
        help="Add the top N rows of each per-customer table (a call list). Default 0: aggregates only, "
             "no customer rows or ids in a report that goes out by mail.")] = 0,
    quiet: opt.Quiet = False,
) -> None:
    """One self-contained HTML report of segment's tables: charts, key tables, provenance; no network needed."""
    from segment.report import Source, report

    with Run(NAME) as run:
        forced = parse_kinds(kind or [])
        run.check_outputs(None, documents=(output,) if output not in (None, "-") else ())
        sources = []
        for path in inputs:
            table = run.read(path, fmt=from_, header_only=True)
            sources.append(Source(table.name, table.frame, table.provenance, forced.get(path)))
        with run.progress() as progress:
            result = report(sources, title=title, include_rows=include_rows, progress=progress)
        write_bytes(result.html.encode(), output, run.input_paths)
        run.note(f"{len(result.sections)} tables, {len(result.charts)} charts"
                 + (f" -> {output}" if output not in (None, "-") else ""))


def parse_kinds(items: list[str]) -> dict[str, str]:
    """``FILE=KIND`` pairs."""
    from segment.errors import OptionError

    out = {}
    for item in items:
        path, sep, name = item.rpartition("=")
        if not sep or not path or not name:
            raise OptionError(f"--kind takes FILE=KIND (e.g. scores.csv=rfm), got {item!r}")
        out[path] = name
    return out
