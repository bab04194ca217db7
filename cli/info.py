"""``segment info``: schema, row count and provenance of a table."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from . import options as opt
from .run import Run

NAME = "info"
EXAMPLE = "segment info rfm.parquet"


def command(
    input: opt.Input = "-",
    from_: opt.From = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Show a table's schema, row count and provenance (how it was made)."""
    with Run(NAME) as run:
        table = run.read(input, fmt=from_)
        schema = {name: str(dtype) for name, dtype in table.frame.collect_schema().items()}
        record = {"name": table.name, "format": table.format, "rows": table.rows(),
                  "sha256": table.sha256, "schema": schema, "provenance": table.provenance}
        if as_json:
            sys.stdout.write(json.dumps(record, indent=2, default=str) + "\n")
            return
        lines = [f"file: {table.name} ({table.format})", f"rows: {record['rows']:,}",
                 f"sha256: {table.sha256}", "columns:"]
        lines += [f"  {name}: {dtype}" for name, dtype in schema.items()]
        if table.provenance:
            lines.append("provenance:")
            lines += ["  " + ln for ln in json.dumps(table.provenance, indent=2, default=str).splitlines()]
        else:
            lines.append("provenance: none (not written by segment as Parquet/Arrow)")
        sys.stdout.write("\n".join(lines) + "\n")
