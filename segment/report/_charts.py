"""Charts as Vega-Lite specifications with their data inline, and how they are drawn.

A chart is a plain dictionary (Vega-Lite 5) plus the frame of aggregated
data behind it; the dictionary is the tested artifact and vl-convert draws
it to SVG or PNG without a browser or a network. Every chart of a large
table is drawn from aggregates (bins, cells, groups), so a million rows
become at most a few hundred marks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

#: Vega-Lite version the specifications are written for (vl-convert bundles it).
VEGA_LITE = "v5_21"
#: Colour of noise (cluster -1) and of anything set aside.
GREY = "#9e9e9e"
WIDTH = 420
HEIGHT = 260
_CONFIG = {"font": "sans-serif", "view": {"stroke": None}, "axis": {"labelLimit": 220},
           "legend": {"labelLimit": 220}, "title": {"anchor": "start", "fontSize": 14}}
NO_ROWS = "no rows"


@dataclass(frozen=True)
class Chart:
    """One chart: its Vega-Lite specification and the data behind it.

    Attributes
    ----------
    name : str
        Short name within its kind (``rxf``, ``segments``, ...), for ``--chart``.
    title : str
        What it shows, in words.
    spec : dict
        Vega-Lite specification with the data inline (``data.values``).
    data : pl.DataFrame
        The aggregated table the chart draws (``segment plot --data``).
    note : str or None
        Why the chart is empty or partial (``"no rows"``), shown under it.

    Examples
    --------
    >>> chart = bar_chart("sizes", "Customers per segment",
    ...                   pl.DataFrame({"segment": ["a", "b"], "customers": [3, 1]}), "segment", "customers")
    >>> chart.spec["mark"]["type"], chart.spec["data"]["values"][0]
    ('bar', {'segment': 'a', 'customers': 3})
    """

    name: str
    title: str
    spec: dict[str, Any]
    data: pl.DataFrame = field(compare=False)
    note: str | None = None

    def to_json(self) -> str:
        """The specification as canonical JSON (sorted keys): same chart, same bytes."""
        return json.dumps(self.spec, sort_keys=True, indent=1, allow_nan=False)

    def svg(self) -> str:
        """Draw the chart as SVG (vl-convert; no browser, no network)."""
        import vl_convert

        return scoped_ids(vl_convert.vegalite_to_svg(self.spec, vl_version=VEGA_LITE), f"{self.name}-")

    def png(self, scale: float = 2.0) -> bytes:
        """Draw the chart as PNG at *scale* times its size in pixels."""
        import vl_convert

        return vl_convert.vegalite_to_png(self.spec, vl_version=VEGA_LITE, scale=scale)


# ------------------------------------------------------------------ data -> JSON values
def _plain(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # JSON has no inf/NaN; a chart leaves the point out
        return float(f"{value:.6g}")  # six significant digits: the same text on every machine
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def values(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dictionaries (floats rounded to 6 significant digits, inf/NaN as null).

    >>> values(pl.DataFrame({"x": [1.0 / 3, float("inf")]}))
    [{'x': 0.333333}, {'x': None}]
    """
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dicts()]


def spec(title: str, data: pl.DataFrame, body: dict[str, Any], *, width: int | str = WIDTH,
         height: int | str = HEIGHT, subtitle: str | None = None) -> dict[str, Any]:
    """A complete single-view specification: title, inline data, size and the shared look."""
    head: dict[str, Any] = {"text": title}
    if subtitle:
        head["subtitle"] = subtitle
    out: dict[str, Any] = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": head,
                           "data": {"values": values(data)}, "background": "white", "config": _CONFIG}
    if not {"hconcat", "vconcat"} & body.keys():
        out.update(width=width, height=height)
    out.update(body)
    return out


def note_chart(name: str, title: str, note: str, data: pl.DataFrame | None = None) -> Chart:
    """A chart that only says why it is empty (``"no rows"``), instead of failing."""
    body = {"mark": {"type": "text", "fontSize": 14, "color": "#555"},
            "encoding": {"text": {"field": "note", "type": "nominal"}}}
    frame = pl.DataFrame({"note": [note]})
    return Chart(name, title, spec(title, frame, body, height=80), data if data is not None else frame, note)


def _enc(field_: str, type_: str, title: str | None = None, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field_, "type": type_}
    if title is not None:
        out["title"] = title
    out.update(more)
    return out


def bar_chart(name: str, title: str, data: pl.DataFrame, category: str, value: str, *,
              color: dict[str, Any] | None = None, value_title: str | None = None,
              category_title: str | None = None, sort: list[Any] | str | None = None,
              subtitle: str | None = None, value_format: str = ",") -> Chart:
    """Horizontal bars, one per category, in the order given (or *sort*)."""
    order = sort if sort is not None else [_plain(v) for v in data[category].to_list()]
    body = {"mark": {"type": "bar"},
            "encoding": {"y": _enc(category, "nominal", category_title or category, sort=order),
                         "x": _enc(value, "quantitative", value_title or value),
                         "tooltip": [_enc(category, "nominal"), _enc(value, "quantitative", format=value_format)]}}
    if color is not None:
        body["encoding"]["color"] = color
    height = max(60, 22 * data.height) if data.height else HEIGHT
    return Chart(name, title, spec(title, data, body, height=min(height, 600), subtitle=subtitle), data)


def heatmap_chart(name: str, title: str, data: pl.DataFrame, x: str, y: str, color: str, *,
                  x_title: str | None = None, y_title: str | None = None, color_title: str | None = None,
                  text: str | None = None, text_format: str = ".2f", scheme: str = "blues",
                  domain: tuple[float, float] | None = None, x_sort: Any = None, y_sort: Any = None,
                  x_type: str = "ordinal", y_type: str = "ordinal", subtitle: str | None = None,
                  cell: int = 40) -> Chart:
    """Cells coloured by *color*, optionally labelled with *text*."""
    scale: dict[str, Any] = {"scheme": scheme}
    if domain is not None:
        scale["domain"] = list(domain)
    xs = _enc(x, x_type, x_title or x)
    ys = _enc(y, y_type, y_title or y)
    if x_sort is not None:
        xs["sort"] = x_sort
    if y_sort is not None:
        ys["sort"] = y_sort
    layers: list[dict[str, Any]] = [{"mark": {"type": "rect"},
                                     "encoding": {"color": _enc(color, "quantitative", color_title or color,
                                                                scale=scale),
                                                  "tooltip": [_enc(x, x_type), _enc(y, y_type),
                                                              _enc(color, "quantitative", format=text_format)]}}]
    if text is not None:
        layers.append({"mark": {"type": "text", "fontSize": 11},
                       "encoding": {"text": _enc(text, "quantitative", format=text_format)}})
    body = {"encoding": {"x": xs, "y": ys}, "layer": layers}
    nx = max(1, data[x].n_unique()) if data.height else 5
    ny = max(1, data[y].n_unique()) if data.height else 5
    return Chart(name, title, spec(title, data, body, width=min(900, cell * nx + 20), height=min(700, cell * ny),
                                   subtitle=subtitle), data)


def histogram_panels(name: str, title: str, data: pl.DataFrame, panels: list[tuple[str, str]], *,
                     subtitle: str | None = None) -> Chart:
    """Side-by-side histograms from pre-computed bins (``metric, start, end, customers``)."""
    views = []
    for metric, label in panels:
        views.append({"transform": [{"filter": {"field": "metric", "equal": metric}}],
                      "mark": {"type": "bar", "binSpacing": 0},
                      "width": 220, "height": 180, "title": label,
                      "encoding": {"x": _enc("start", "quantitative", label, bin={"binned": True}),
                                   "x2": {"field": "end"},
                                   "y": _enc("customers", "quantitative", "customers"),
                                   "tooltip": [_enc("start", "quantitative", "from"),
                                               _enc("end", "quantitative", "to"),
                                               _enc("customers", "quantitative", format=",")]}})
    body = {"hconcat": views, "resolve": {"scale": {"x": "independent", "y": "independent"}}}
    return Chart(name, title, spec(title, data, body, subtitle=subtitle), data)


def nice_step(span: float, bins: int) -> float:
    """A round bin width (1, 2 or 5 times a power of ten) giving about *bins* bins over *span*.

    >>> nice_step(1000, 30), nice_step(6, 30), nice_step(0, 30)
    (50.0, 0.2, 1.0)
    """
    if not span > 0:
        return 1.0
    raw = span / bins
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power * 1.0000001:
            return float(f"{m * power:.12g}")
    return float(f"{10 * power:.12g}")


def binned(frame: pl.LazyFrame, column: str, *, bins: int = 30, top: float = 0.99) -> tuple[pl.DataFrame, str | None]:
    """Counts of *column* in round-width bins (``start, end, customers``), computed lazily.

    Whole numbers with at most *bins* distinct values get one bin per value.
    Values above the *top* quantile go into the last bin, so that one large
    spender does not squeeze everybody else into the first bar; the note
    says so.

    >>> b, note = binned(pl.LazyFrame({"x": [1, 1, 2, 5]}), "x")
    >>> b.rows(), note
    ([(1.0, 2.0, 2), (2.0, 3.0, 1), (5.0, 6.0, 1)], None)
    """
    col = pl.col(column).cast(pl.Float64)
    stats = frame.select(lo=col.min(), hi=col.max(), cap=col.quantile(top, "higher"), distinct=col.n_unique(),
                         whole=(col.drop_nulls() == col.drop_nulls().round(0)).all()).collect().row(0, named=True)
    empty = pl.DataFrame(schema={"start": pl.Float64, "end": pl.Float64, "customers": pl.UInt32})
    if stats["lo"] is None:
        return empty, None
    lo, hi = float(stats["lo"]), float(stats["hi"])
    note = None
    if stats["whole"] and stats["distinct"] <= bins:
        width, start, capped = 1.0, lo, hi
    else:
        capped = float(stats["cap"]) if stats["cap"] is not None and stats["cap"] < hi else hi
        if capped < hi:
            note = f"{column} above its {top:.0%} quantile ({capped:,.6g}) is counted in the last bar"
        width = nice_step(capped - lo, bins)
        start = math.floor(lo / width) * width
    index = ((col.clip(upper_bound=capped) - start) / width).floor()
    out = (frame.select(index.alias("i")).drop_nulls().group_by("i").agg(customers=pl.len()).sort("i")
           .select(start=pl.col("i") * width + start, end=(pl.col("i") + 1) * width + start, customers="customers")
           .collect())
    out = out.with_columns(pl.col("start").round(10), pl.col("end").round(10))
    return out, note


ChartFn = Callable[[pl.LazyFrame], "Chart | None"]


def scoped_ids(svg: str, prefix: str) -> str:
    """Number the ids of an SVG in order of appearance, behind a prefix (and every reference
    to them): Vega counts gradients per process, so the same chart would otherwise get other
    ids after other charts, and many charts inlined in one page would share clip paths.

    >>> scoped_ids('<linearGradient id="gradient_7"/><path fill="url(#gradient_7)"/>', "c2-")
    '<linearGradient id="c2-1"/><path fill="url(#c2-1)"/>'
    """
    names: dict[str, str] = {}
    for found in re.findall(r'\bid="([^"]+)"', svg):
        names.setdefault(found, f"{prefix}{len(names) + 1}")

    def swap(match: re.Match[str]) -> str:
        return match.group(1) + names.get(match.group(2), match.group(2)) + match.group(3)

    svg = re.sub(r'(\bid=")([^"]+)(")', swap, svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", swap, svg)
    return re.sub(r'(href="#)([^"]+)(")', swap, svg)
