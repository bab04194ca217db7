"""Options shared by several commands, defined once.

Every command spells the same idea the same way: ``--id`` is the customer
key everywhere, ``-o`` the output, ``--to`` the output format, ``--seed`` the
random seed, ``--alpha`` the significance level, ``--correction`` the
multiple-testing correction, ``--min-size`` the smallest group worth keeping.
Flags map one-to-one onto the library's keyword arguments.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer


class OutFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    arrow = "arrow"
    ndjson = "ndjson"
    xlsx = "xlsx"


class FolderFormat(str, Enum):
    """Formats of a folder of tables written chunk by chunk (no xlsx: a workbook is written whole)."""

    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    arrow = "arrow"
    ndjson = "ndjson"


class InFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    arrow = "arrow"
    ndjson = "ndjson"
    xlsx = "xlsx"
    ws = "ws"


class Correction(str, Enum):
    """Multiple-testing corrections (:data:`segment.stats.multitest.METHODS`)."""

    holm = "holm"
    bh = "bh"
    bonferroni = "bonferroni"
    none = "none"


class Engine(str, Enum):
    """Where the heavy steps run: polars on this machine, or a Spark cluster."""

    polars = "polars"
    spark = "spark"


IO_PANEL = "Input and output"
ENGINE_PANEL = "Engine"
COLUMNS_PANEL = "Columns"

Input = Annotated[
    str,
    typer.Argument(
        help="Input table: a file path, or - for stdin. Format from the extension "
        "(csv, tsv, parquet, arrow/ipc/feather, ndjson/jsonl, optionally .gz; xlsx); stdin is sniffed.",
        show_default=False,
    ),
]
Output = Annotated[
    str | None,
    typer.Option(
        "--output", "-o",
        help="Write the result here (atomically); format from the extension. Default: stdout.",
        rich_help_panel=IO_PANEL, show_default=False,
    ),
]
To = Annotated[
    OutFormat | None,
    typer.Option(
        "--to", help="Output format, overriding the extension. Stdout default: csv on a pipe.",
        rich_help_panel=IO_PANEL, show_default=False,
    ),
]
From = Annotated[
    InFormat | None,
    typer.Option(
        "--from", help="Input format, overriding the extension or sniffing "
        "(ws = whitespace-separated text with a header, e.g. CDNOW).",
        rich_help_panel=IO_PANEL, show_default=False,
    ),
]
Id = Annotated[
    str, typer.Option("--id", help="Customer key column.", rich_help_panel=COLUMNS_PANEL)
]
Date = Annotated[
    str, typer.Option("--date", help="Transaction date or datetime column.", rich_help_panel=COLUMNS_PANEL)
]
DateFormat = Annotated[
    str | None,
    typer.Option(
        "--date-format", help="strftime format of text dates, e.g. %d/%m/%Y (default: ISO forms detected).",
        rich_help_panel=COLUMNS_PANEL, show_default=False,
    ),
]
Amount = Annotated[
    str, typer.Option("--amount", help="Amount column (negative = return/refund).", rich_help_panel=COLUMNS_PANEL)
]
EngineOption = Annotated[
    Engine,
    typer.Option("--engine", help="polars (this machine) or spark: INPUT is then a Parquet file or directory, or "
                 "any URI Spark reads (hdfs://, s3a://), and -o a Parquet directory.", rich_help_panel=ENGINE_PANEL),
]
SparkMaster = Annotated[
    str | None,
    typer.Option("--spark-master", help="Spark master URL [default: $SEGMENT_SPARK_MASTER, else local[*]].",
                 rich_help_panel=ENGINE_PANEL, show_default=False),
]
SparkConf = Annotated[
    list[str] | None,
    typer.Option("--spark-conf", help="Spark setting key=value, e.g. spark.executor.memory=8g (repeatable).",
                 rich_help_panel=ENGINE_PANEL, show_default=False),
]
SparkTable = Annotated[
    str | None,
    typer.Option("--spark-table", help="With --engine spark: read this catalog table (db.table) instead of INPUT.",
                 rich_help_panel=ENGINE_PANEL, show_default=False),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed; same seed, same output.")]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show progress and details on stderr even in pipes.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr (warnings and errors still shown).")]


# Options whose help depends on the command; the flag and its meaning do not.
def alpha(help: str = "Significance level.", panel: str | None = None) -> Any:
    """``--alpha``: a result counts as significant when its (adjusted) p-value is at most this."""
    return typer.Option("--alpha", help=help, rich_help_panel=panel)


def correction(help: str, panel: str | None = None) -> Any:
    """``--correction holm|bh|bonferroni|none``."""
    return typer.Option("--correction", help=help, rich_help_panel=panel)


def min_size(help: str, panel: str | None = None, show_default: bool = True) -> Any:
    """``--min-size``: the smallest group, in rows or customers."""
    return typer.Option("--min-size", help=help, rich_help_panel=panel, show_default=show_default)


#: Old spellings that keep working for one release, with a warning: command -> {old: new}.
RENAMED: dict[str, dict[str, str]] = {
    "cluster": {"--min-cluster-size": "--min-size"},
}
