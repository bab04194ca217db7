"""Charts of the tables ``segment`` writes, and one self-contained offline HTML report of them.

``plot`` draws the natural chart of one table (its kind found from the
provenance every command writes, else from its columns); ``report`` puts
every chart, the key tables and each input's provenance in one HTML page
with no script and no external resource. Charts are Vega-Lite
specifications (the tested artifact) drawn by vl-convert, imported only
when a chart is drawn.

>>> from segment.report import Source, plot, report  # doctest: +SKIP
"""

from segment.report._charts import Chart
from segment.report._kinds import Kind
from segment.report._report import KINDS, Report, Source, chart_html, kind_of, plot, report

__all__ = ["KINDS", "Chart", "Kind", "Report", "Source", "chart_html", "kind_of", "plot", "report"]
