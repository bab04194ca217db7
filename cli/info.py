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
    config: Annotated[bool, typer.Option("--config", help="Show the project file in force (segment.toml here, "
                                         "or segment --config FILE) instead of a table.")] = False,
) -> None:
    """Show a table's schema, row count and provenance (how it was made)."""
    if config:
        show_project(as_json)
        return
    if is_dataset(input):
        show_dataset(input, as_json)
        return
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


def is_dataset(path: str) -> bool:
    from segment.spark import is_dataset as written_by_spark

    return path != "-" and written_by_spark(path)


def show_dataset(path: str, as_json: bool) -> None:
    """A Parquet directory written by Spark: refused without _SUCCESS; provenance from _segment.json."""
    import polars as pl

    from segment.spark import dataset_provenance

    provenance = dataset_provenance(path)
    frame = pl.scan_parquet(f"{path.rstrip('/')}/*.parquet")
    schema = {name: str(dtype) for name, dtype in frame.collect_schema().items()}
    record = {"name": path, "format": "parquet directory", "rows": int(frame.select(pl.len()).collect().item()),
              "schema": schema, "provenance": provenance}
    if as_json:
        sys.stdout.write(json.dumps(record, indent=2, default=str) + "\n")
        return
    lines = [f"directory: {path} (parquet, written by Spark)", f"rows: {record['rows']:,}", "columns:"]
    lines += [f"  {name}: {dtype}" for name, dtype in schema.items()]
    lines.append("provenance:" if provenance else "provenance: none (no _segment.json: not written by segment)")
    if provenance:
        lines += ["  " + ln for ln in json.dumps(provenance, indent=2, default=str).splitlines()]
    sys.stdout.write("\n".join(lines) + "\n")


def show_project(as_json: bool) -> None:
    """The project file's roles and reading options, or that there is none."""
    from typer._click.globals import get_current_context

    from .project import project_record

    record = project_record(get_current_context())
    if as_json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return
    if record is None:
        sys.stdout.write("project: none (no segment.toml here, no segment --config FILE); "
                         "options take their defaults\n")
        return
    lines = [f"project: {record['path']}", "columns:"]
    lines += [f"  {role}: {column!r}" for role, column in record["columns"].items()] or ["  (none)"]
    lines.append("read:")
    lines += [f"  {key}: {value!r}" for key, value in record["read"].items()] or ["  (defaults)"]
    sys.stdout.write("\n".join(lines) + "\n")
