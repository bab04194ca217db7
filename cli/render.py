"""Tables for people (stderr). Data never goes through here."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from rich.table import Table


def _fmt(value: object, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def frame_table(df: pl.DataFrame, title: str | None = None, *, digits: int = 2,
                max_rows: int = 30, columns: Sequence[str] | None = None,
                caption: str | None = None) -> Table:
    """A rich Table of the first *max_rows* rows of *df*."""
    cols = list(columns) if columns else df.columns
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for c in cols:
        numeric = df.schema[c].is_numeric()
        table.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for row in df.select(cols).head(max_rows).iter_rows():
        table.add_row(*(_fmt(v, digits) for v in row))
    if df.height > max_rows:
        table.caption = (caption + "; " if caption else "") + f"{max_rows:,} of {df.height:,} rows shown"
    return table
