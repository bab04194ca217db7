"""``plot`` (one chart of one table) and ``report`` (every chart of many tables, one HTML file)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from segment.columns import report_missing, require_columns
from segment.errors import InputError, OptionError
from segment.report import _churn, _cluster, _clv, _lifecycle, _rfm, _rules, _survival, _validate
from segment.report._charts import NO_ROWS, Chart, note_chart, scoped_ids
from segment.report._kinds import Kind, find_kind

#: Every kind of table that can be charted, in the analyst's workflow order (the order of a report).
#: A new command adds its module's KINDS here.
KINDS: tuple[Kind, ...] = (*_rfm.KINDS, *_cluster.KINDS, *_rules.KINDS, *_churn.KINDS, *_lifecycle.KINDS,
                           *_survival.KINDS, *_clv.KINDS, *_validate.KINDS)
#: Rows of a table shown as the data behind a chart, at most.
DATA_ROWS = 200


@dataclass(frozen=True)
class Source:
    """One input of a report: a table, what is known of its origin, and an optional kind.

    Attributes
    ----------
    name : str
        How the report names it (the path as given).
    frame : pl.LazyFrame
        The table.
    provenance : dict or None
        The provenance ``segment`` wrote into it (None for CSV).
    kind : str or None
        Force a kind (as ``--kind``); None finds it.
    """

    name: str
    frame: pl.LazyFrame
    provenance: dict[str, Any] | None = None
    kind: str | None = None


@dataclass
class Section:
    """What a report shows of one input."""

    source: Source
    kind: Kind
    rows: int
    charts: list[Chart]
    tables: list[tuple[str, pl.DataFrame]]
    sample: pl.DataFrame | None = None


@dataclass
class Report:
    """A report: its sections in workflow order, and the page.

    Attributes
    ----------
    title : str
    sections : list of Section
    html : str
        The whole self-contained page (no script, no external resource).
    """

    title: str
    sections: list[Section] = field(default_factory=list)
    html: str = ""

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]


def kind_of(source: Source) -> Kind:
    """The kind of *source*: forced, from provenance, or from the columns (see :func:`find_kind`)."""
    try:
        return find_kind(KINDS, source.frame.collect_schema().names(), source.provenance, source.kind, source.name)
    except InputError:
        if source.frame.head(1).collect().height:
            raise
        # An empty table of another kind reads like an unknown one: say both.
        return find_kind(KINDS, source.frame.collect_schema().names(), source.provenance, source.kind,
                         source.name, empty=True)


def _checked(source: Source, kind: Kind) -> None:
    if source.kind is not None:  # a forced kind still needs its columns
        for column in kind.signature:
            require_columns(source.frame, {f"{kind.name} table": column})


def charts_of(source: Source, kind: Kind | None = None, rows: int | None = None, only: str | None = None) -> list[Chart]:
    """Every chart of *source* (or the one named *only*) that its columns allow; a "no rows"
    note for each when it is empty."""
    kind = kind or kind_of(source)
    _checked(source, kind)
    if rows is None:
        rows = source.frame.select(pl.len()).collect().item()
    report_missing(source.frame, [c for c in kind.signature if c not in kind.may_be_null])  # charts leave missing values out, as each maker says
    out = []
    for name, title, make in kind.charts:
        if only is not None and name != only:
            continue
        if rows == 0:
            out.append(note_chart(name, title, NO_ROWS))
            continue
        chart = make(source.frame)
        if chart is not None:
            out.append(chart)
    return out


def plot(source: Source, *, chart: str | None = None) -> Chart:
    """The natural chart of a table ``segment`` wrote (or the one named *chart*).

    Parameters
    ----------
    source
        The table and its provenance; ``source.kind`` forces a kind.
    chart
        One of the kind's chart names (``rxf``, ``segments`` ...), or several separated by
        commas, side by side; default the first.

    Raises
    ------
    OptionError
        Unknown kind or chart name (the message lists them).
    InputError
        A table ``segment`` does not know how to chart, without a kind.

    Examples
    --------
    >>> t = pl.LazyFrame({"from": ["exit", "exit"], "to": ["exit", "acquisition"], "moves": [9, 1],
    ...                   "probability": [0.9, 0.1]})
    >>> c = plot(Source("transitions.csv", t))
    >>> c.name, c.data["probability"].to_list()
    ('matrix', [0.1, 0.9])
    """
    kind = kind_of(source)
    names = [n for n, _, _ in kind.charts]
    if chart is not None and "," in chart:
        return combined(kind.title, [plot(source, chart=c.strip()) for c in chart.split(",")])
    if chart is not None and chart not in names:
        raise OptionError(f"unknown --chart {chart!r} for a {kind.name} table; use one of {', '.join(names)}")
    wanted = chart or names[0] if names else None
    # Draw only the chart asked for: the others would each aggregate the table again.
    found = [c for c in charts_of(source, kind, only=wanted) if c.name == wanted] if wanted else []
    if not found and not chart:  # the natural chart needs absent columns: the next one that can be drawn
        found = charts_of(source, kind)[:1]
    if not found:
        why = (f"the {wanted!r} chart needs columns this table lacks" if wanted
               else f"a {kind.name} table has no chart: segment report shows it as a table")
        return note_chart(wanted or kind.name, kind.title, why)
    return found[0]


def combined(title: str, charts: Sequence[Chart]) -> Chart:
    """Several charts side by side in one figure (``--chart rxf,segments``), each with its own data."""
    views = []
    for c in charts:
        view = {k: v for k, v in c.spec.items() if k not in ("$schema", "config", "background")}
        views.append(view)
    first = charts[0].spec
    spec = {"$schema": first["$schema"], "background": first["background"], "config": first["config"],
            "hconcat": views, "spacing": 40, "resolve": {"scale": {"color": "independent"}}}
    data = pl.concat([c.data.with_columns(chart=pl.lit(c.name)) for c in charts], how="diagonal_relaxed")
    return Chart(",".join(c.name for c in charts), title, spec, data.select("chart", pl.exclude("chart")))


def report(sources: Sequence[Source], *, title: str = "segment report", include_rows: int = 0,
           progress: Callable[[str, int, int | None], None] | None = None) -> Report:
    """One self-contained HTML page with every chart, the key tables and each input's provenance.

    Sections follow the workflow (RFM, clusters, rules, lifecycle, validation),
    inputs of one kind in the order given. The page holds aggregates only:
    per-customer rows appear only with *include_rows* (the top rows of a call
    list, on purpose). Charts are inline SVG drawn by vl-convert, with no
    script and no external resource, so the same inputs give the same bytes
    and the page opens offline.

    Examples
    --------
    >>> t = pl.LazyFrame({"from": ["exit"], "to": ["exit"], "moves": [3], "probability": [1.0]})
    >>> r = report([Source("t.csv", t)], title="Demo")  # doctest: +SKIP
    >>> r.html.count("<svg")  # doctest: +SKIP
    1
    """
    if include_rows < 0:
        raise OptionError(f"--include-rows must be 0 or more, got {include_rows}")
    order = {k.name: i for i, k in enumerate(KINDS)}
    found = [(kind_of(s), s) for s in sources]
    found.sort(key=lambda pair: order[pair[0].name])  # stable: inputs of one kind keep their order
    sections = []
    for done, (kind, source) in enumerate(found):
        if progress:
            progress("charts", done, len(found))
        rows = source.frame.select(pl.len()).collect().item()
        charts = charts_of(source, kind, rows)
        tables = [(name, make(source.frame) if rows else pl.DataFrame()) for name, make in kind.tables]
        sample = None
        if include_rows and kind.per_customer and rows:
            column, descending = kind.call_order or (source.frame.collect_schema().names()[0], False)
            sample = source.frame.sort(column, descending=descending, nulls_last=True).head(include_rows).collect()
        sections.append(Section(source, kind, rows, charts, tables, sample))
    if progress:
        progress("charts", len(found), len(found))
    out = Report(title, sections)
    out.html = page(out)
    return out


# ------------------------------------------------------------------ the page
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#1f4e79;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.85}main{padding:8px 32px 40px;max-width:1200px}
nav ol{margin:8px 0;padding-left:20px;columns:2}nav a{color:#1f4e79}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:18px 0;padding:12px 20px}
h2{font-size:19px;margin:6px 0}h2 small{font-weight:normal;color:#666;font-size:14px}
h3{font-size:15px;margin:16px 0 6px}
.chart{margin:12px 0;overflow-x:auto}.chart svg{max-width:100%;height:auto}
.note{color:#8a6d3b;font-size:13px;margin:4px 0}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2}
details{margin:6px 0;font-size:13px}summary{cursor:pointer;color:#1f4e79}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
.rows{border-left:4px solid #e45756;padding-left:10px}
"""


def _cell(value: Any) -> tuple[str, bool]:
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value).lower(), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        if value != value:
            return "NaN", True
        if abs(value) >= 1000:
            return f"{value:,.1f}", True
        return f"{value:.4g}", True
    return str(value), False


def table_html(frame: pl.DataFrame, *, limit: int | None = None) -> str:
    """A frame as an HTML table (numbers right-aligned, text escaped).

    >>> table_html(pl.DataFrame({"a": ["<b>"], "n": [1234]}))
    '<table><thead><tr><th>a</th><th>n</th></tr></thead><tbody><tr><td>&lt;b&gt;</td><td class="n">1,234</td></tr></tbody></table>'
    """
    if frame.width == 0 or frame.height == 0:
        return f'<p class="note">{NO_ROWS}</p>'
    shown = frame.head(limit) if limit else frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in shown.iter_rows():
        cells = []
        for v in row:
            text, numeric = _cell(v)
            cells.append(f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">first {limit:,} of {frame.height:,} rows</p>' if limit and frame.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _chart_html(chart: Chart, chart_id: str) -> str:
    svg = scoped_ids(chart.svg(), f"{chart_id}-")
    parts = [f'<div class="chart" id="{chart_id}" data-chart="{html.escape(chart.name)}">', svg]
    if chart.note:
        parts.append(f'<p class="note">{html.escape(chart.note)}</p>')
    if chart.data.height and not chart.note:
        parts.append(f"<details><summary>Data behind this chart ({chart.data.height:,} rows)</summary>"
                     f"{table_html(chart.data, limit=DATA_ROWS)}</details>")
    parts.append("</div>")
    return "".join(parts)


def _provenance_html(source: Source, kind: Kind) -> str:
    if source.provenance:
        record = html.escape(json.dumps(source.provenance, indent=1, sort_keys=True, default=str), quote=False)
        how = f"kind {kind.name}" + (" (given)" if source.kind else " (from provenance)")
        return f"<details><summary>Provenance: {how}</summary><pre>{record}</pre></details>"
    how = "given with --kind" if source.kind else "recognised from its columns"
    return f'<p class="note">No provenance (e.g. CSV): kind {kind.name}, {how}.</p>'


def page(rep: Report) -> str:
    """The report as one HTML document: inline CSS and SVG, no script, nothing fetched."""
    body, toc = [], []
    chart_no = 0
    for i, s in enumerate(rep.sections, 1):
        anchor = f"s{i}"
        toc.append(f'<li><a href="#{anchor}">{html.escape(s.kind.title)}: {html.escape(s.source.name)}</a></li>')
        part = [f'<section id="{anchor}" data-kind="{s.kind.name}"><h2>{html.escape(s.kind.title)} '
                f"<small>{html.escape(s.source.name)} &middot; {s.rows:,} rows</small></h2>"]
        for chart in s.charts:
            chart_no += 1
            part.append(_chart_html(chart, f"c{chart_no}"))
        for name, frame in s.tables:
            part.append(f"<h3>{html.escape(name)}</h3>{table_html(frame, limit=DATA_ROWS)}")
        if s.sample is not None:
            part.append(f'<div class="rows"><h3>Top {s.sample.height:,} rows (--include-rows)</h3>'
                        f"{table_html(s.sample)}</div>")
        part.append(_provenance_html(s.source, s.kind))
        part.append("</section>")
        body.append("".join(part))
    rows_note = ("aggregates only: no per-customer rows" if not any(s.sample is not None for s in rep.sections)
                 else "includes per-customer rows on purpose (--include-rows)")
    intro = f"{len(rep.sections)} tables, {chart_no} charts; {rows_note}. Made by segment; opens offline."
    return _document(rep.title, intro, f"<nav><ol>{''.join(toc)}</ol></nav>{''.join(body)}")


def chart_html(chart: Chart) -> str:
    """One chart as a self-contained HTML page (``segment plot -o chart.html``)."""
    return _document(chart.title, "Made by segment; opens offline.", f"<section>{_chart_html(chart, 'c1')}</section>")


def _document(title: str, intro: str, body: str) -> str:
    title = html.escape(title)
    # The page may fetch nothing at all: the browser enforces what the tests check.
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{title}</h1><p>{html.escape(intro)}</p></header><main>{body}</main></body></html>\n")
