"""The stderr report of ``validate-segment``: verdict first, for a manager."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from cli.render import frame_table

_STYLE = {"valid": "bold green", "over-fine": "bold yellow", "arbitrary": "bold red"}
_MEANING = {
    "valid": "the segments differ on what matters, are big enough and distinguishable",
    "over-fine": "the segments differ, but some are too small or cannot be told apart: merge them",
    "arbitrary": "the segments do not differ meaningfully on any outcome: do not act on them",
}
_MAX_LINES = 15
_SHORT = {"cramers_v": "V", "epsilon_squared": "eps2", "eta_squared": "eta2"}


def verdict_report(result: Any) -> list[Any]:
    """Renderables: verdict panel, per-outcome lines, merge suggestions, outcome table."""
    head = Text.assemble((f"Verdict: {result.verdict.upper()}", _STYLE[result.verdict]),
                         f" - {_MEANING[result.verdict]}\n", result.reasons[0])
    out: list[Any] = [Panel(head, expand=False)]
    lines = [Text("What differs", style="bold")]
    for row in result.outcomes.iter_rows(named=True):
        mark = "+" if row["verdict"] == "differs" else "-"
        sentence = next((r for r in result.reasons[1:] if r.startswith(repr(row["outcome"]))), row["verdict"])
        lines.append(Text(f"  {mark} {sentence}"))
        extremes = _extremes(result.profile, row)
        if extremes:
            lines.append(Text(f"      {extremes}", style="dim"))
    out.append(Group(*lines))
    merges = result.merge_map.filter(pl.col("action") == "merge")
    if merges.height:
        lines = [Text(f"Merges suggested ({merges.height} of {result.merge_map.height} segments)", style="bold")]
        for row in merges.head(_MAX_LINES).iter_rows(named=True):
            lines.append(Text(f"  {row['segment']!r} -> {row['merged_segment']!r}: {row['reason']}"))
        if merges.height > _MAX_LINES:
            lines.append(Text(f"  ... {merges.height - _MAX_LINES} more in --merge-map FILE", style="dim"))
        out.append(Group(*lines))
    table = result.outcomes.select(
        "outcome", "test",
        pl.col("p_adjusted").map_elements(_p_text, return_dtype=pl.String).alias("p adjusted"),
        pl.format("{} {} ({})", pl.col("effect").replace(_SHORT), pl.col("effect_size").round(3),
                  pl.col("effect_label")).alias("effect"),
        "verdict")
    stats = result.stats
    caption = (f"{stats['rows_used']:,} rows in {stats['segments']:,} segments"
               + (f" ({stats['rows_without_segment']:,} without a segment left out)" if stats["rows_without_segment"] else "")
               + f"; p adjusted across outcomes ({result.params['correction']}); effect labels: Cohen (1988)")
    out.append(frame_table(table, title="Outcomes", caption=caption))
    return out


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


def _p_text(p: float | None) -> str:
    if p is None or p != p:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
