"""The stderr report of ``validate-segment``: verdict first, for a manager."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from segment.stats.pvalue import format_p

from .render import frame_table

_STYLE = {"valid": "bold green", "over-fine": "bold yellow", "arbitrary": "bold red"}
_MAX_LINES = 15
_SHORT = {"cramers_v": "V", "epsilon_squared": "eps2", "eta_squared": "eta2"}


def verdict_report(result: Any) -> Group:
    """Verdict panel, per-outcome lines, merge suggestions and the outcome table."""
    head = Text.assemble((f"Verdict: {result.verdict.upper()}", _STYLE[result.verdict]), "\n", result.reasons[0])
    out: list[Any] = [Panel(head, expand=False)]
    rows = []
    for row in result.outcomes.iter_rows(named=True):
        sentence = next((r for r in result.reasons[1:] if r.startswith(repr(row["outcome"]))), row["verdict"])
        extremes = _extremes(result.profile, row)
        rows.append(("+" if row["verdict"] == "differs" else "-", sentence + (f"; {extremes}" if extremes else "")))
    out.append(_bullets("What differs", rows))
    flagged = [r for r in result.reasons[1:] if r.startswith("segment ") and " stands out on " in r]
    if flagged:
        out.append(_bullets("Segments that stand out from the rest", [("!", r) for r in flagged]))
    told = {r for r in result.reasons[1:] if r in flagged or any(
        r.startswith(repr(o)) for o in result.outcomes["outcome"])}
    # The merges have their own section below.
    notes = [r for r in result.reasons[1:] if r not in told and "of segments that no outcome tells apart" not in r]
    if notes:
        out.append(_bullets("Notes", [("!" if r.startswith("circular") else "-", r) for r in notes]))
    merges = result.merge_map.filter(pl.col("action") == "merge")
    if merges.height:
        rows = [("-", f"{r['segment']!r} -> {r['merged_segment']!r}: {r['reason']}")
                for r in merges.head(_MAX_LINES).iter_rows(named=True)]
        if merges.height > _MAX_LINES:
            rows.append(("", f"... {merges.height - _MAX_LINES:,} more in --merge-map FILE"))
        out.append(_bullets(f"Merges suggested ({merges.height:,} of {result.stats['segments']:,} segments)", rows))
    table = result.outcomes.select(
        "outcome",
        pl.col("p_adjusted").map_elements(format_p, return_dtype=pl.String).alias("p adjusted"),
        pl.format("{} {} {}", pl.col("effect").replace(_SHORT), pl.col("effect_size").round(3),
                  pl.col("effect_label")).alias("effect"),
        "verdict")
    stats = result.stats
    left_out = []
    if stats["rows_without_segment"]:
        left_out.append(f"{stats['rows_without_segment']:,} without a segment")
    if stats["segments_left_out"]:
        left_out.append(f"{stats['rows_in_segments_left_out']:,} in {_count(stats['segments_left_out'], 'segment')} "
                        "without outcome values")
    caption = (f"{stats['rows_used']:,} rows in {stats['segments']:,} segments"
               + (f" ({' and '.join(left_out)} left out)" if left_out else "")
               + f"; p adjusted across outcomes ({result.params['correction']}); effect labels: Cohen (1988)")
    out.append(frame_table(table, title="Outcomes", caption=caption))
    return Group(*out)


def _bullets(title: str, rows: list[tuple[str, str]]) -> Group:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=3, justify="right")
    grid.add_column(overflow="fold")
    for mark, text in rows:
        grid.add_row(mark, text)
    return Group(Text(title, style="bold"), grid)


def _extremes(profile: pl.DataFrame, row: dict) -> str:
    if row["kind"] == "categorical":
        return ""
    part = profile.filter(pl.col("outcome") == row["outcome"]).drop_nulls("value").sort("value")
    if part.height < 2:
        return ""
    lo, hi = part.row(0, named=True), part.row(-1, named=True)
    what = f"rate of {row['positive']}" if row["kind"] == "binary" else part["statistic"][0]
    fmt = (lambda v: f"{v:.1%}") if row["kind"] == "binary" else (lambda v: f"{v:,.4g}")
    return f"{what}: highest {hi['segment']!r} {fmt(hi['value'])}, lowest {lo['segment']!r} {fmt(lo['value'])}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
