"""``segment plot``: the natural chart of any table ``segment`` wrote, as SVG, PNG or HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from . import options as opt
from .run import Run

NAME = "plot"
EXAMPLE = "segment plot rfm.parquet -o rfm.svg --data rfm_chart.csv"
CHART_FORMATS = (".svg", ".png", ".html")


def command(
    input: opt.Input = "-",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the chart here (atomically): .svg, .png or .html. Default: SVG on stdout.",
        rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    from_: opt.From = None,
    kind: Annotated[str | None, typer.Option(
        help="What the table is (rfm, cluster-profile, rules, lifecycle-kpis ...; see docs/report.md), "
             "overriding its provenance and columns.", show_default=False)] = None,
    chart: Annotated[str | None, typer.Option(
        help="Which of the kind's charts (e.g. rfm: rxf, segments, histograms), or several side by side "
             "(rxf,segments). Default: the first.",
        show_default=False)] = None,
    data: Annotated[str | None, typer.Option(
        help="Also write the data behind the chart (aggregated) to FILE.", rich_help_panel=opt.IO_PANEL,
        show_default=False)] = None,
    scale: Annotated[float, typer.Option(help="PNG pixels per chart unit.")] = 2.0,
    quiet: opt.Quiet = False,
) -> None:
    """Draw the natural chart of a table segment wrote (kind from its provenance or columns)."""
    from segment.errors import OptionError
    from segment.report import Source, kind_of, plot

    with Run(NAME) as run:
        table = run.read(input, fmt=from_, header_only=True)
        run.check_outputs(None, data, documents=(output,) if output not in (None, "-") else ())
        suffix = Path(output).suffix.lower() if output and output != "-" else ".svg"
        if suffix not in CHART_FORMATS:
            raise OptionError(f"cannot tell the chart format of {output!r}; use a name ending in "
                              f"{', '.join(CHART_FORMATS)}")
        source = Source(table.name, table.frame, table.provenance, kind)
        figure = plot(source, chart=chart)
        body = render(figure, suffix, scale)
        if data:
            run.write_side(figure.data, data, role="data", details={"kind": kind_of(source).name,
                                                                   "chart": figure.name})
        write_bytes(body, output, run.input_paths)
        run.note(f"{figure.title} ({kind_of(source).name} / {figure.name}), {figure.data.height:,} data rows")


def render(figure, suffix: str, scale: float) -> bytes:  # noqa: ANN001 (a segment.report Chart)
    """The chart in the file format of *suffix*."""
    if suffix == ".png":
        return figure.png(scale=scale)
    if suffix == ".html":
        from segment.report import chart_html

        return chart_html(figure).encode()
    return figure.svg().encode()


def write_bytes(body: bytes, output: str | None, inputs: list[str]) -> None:
    """*body* to -o atomically, or to stdout."""
    from segment import io as sio

    if output is None or output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    with sio.atomic_path(output, inputs) as tmp:
        Path(tmp).write_bytes(body)
