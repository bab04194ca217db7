"""The stage x value-segment matrix: customers, value and churn per cell, and the lever planned for each.

The lifecycle marketing plan crosses where a customer is (acquisition,
build-up, maturity, decline, exit) with what the customer is worth (RFM
segment, CLV band) and names a lever per cell: acquire, develop, cross-sell,
retain, win back. :func:`matrix` counts the cells of any two columns and,
given levers, adds the planned lever to each customer.

Levers come from a TOML file, one ``[[lever]]`` table per rule; ``row`` and
``col`` are patterns (``*`` and ``?`` wildcards, any case) on the row and
column values, a missing one matches everything, and the first rule that
matches a cell wins::

    [[lever]]
    row = "maturity"
    col = "Champions"
    name = "cross-sell"

    [[lever]]
    row = "decline"
    name = "retain"

Examples
--------
>>> import polars as pl
>>> customers = pl.DataFrame({"stage": ["maturity", "maturity", "decline", "exit"],
...                           "segment": ["Champions", "Lost", "Champions", "Lost"],
...                           "clv": [900.0, 50.0, 700.0, 0.0], "churn": [0, 0, 1, 1]})
>>> levers = parse_levers('[[lever]]\\nrow = "maturity"\\ncol = "champ*"\\nname = "cross-sell"\\n'
...                       '[[lever]]\\nrow = "decline"\\nname = "retain"')
>>> r = matrix(customers, rows="stage", cols="segment", value="clv", outcome="churn", levers=levers)
>>> r.cells.select("stage", "segment", "customers", "value_total", "churn_rate", "lever").rows()
[('maturity', 'Champions', 1, 900.0, 0.0, 'cross-sell'), ('maturity', 'Lost', 1, 50.0, 0.0, None), ('decline', 'Champions', 1, 700.0, 1.0, 'retain'), ('exit', 'Lost', 1, 0.0, 1.0, None)]
>>> r.customers["lever"].to_list()
['cross-sell', None, 'retain', None]
"""

from __future__ import annotations

import fnmatch
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segment.columns import count_missing, flag_values, require_numeric, warn_missing
from segment.errors import ColumnNotFoundError, DataError, InputError, OptionError, SegmentWarning, shown

#: More distinct values than this in --rows or --cols is over-fine segmentation, not a matrix.
MAX_LEVELS = 30
#: Lifecycle stages in their order (any other values follow, sorted).
STAGE_ORDER = ("acquisition", "build-up", "growth", "maturity", "climax", "decline", "exit")


@dataclass(frozen=True)
class Lever:
    """A rule: cells whose row matches *row* and column matches *col* get lever *name*."""

    name: str
    row: str = "*"
    col: str = "*"

    def matches(self, row: object, col: object) -> bool:
        return (fnmatch.fnmatchcase(str(row).lower(), self.row.lower())
                and fnmatch.fnmatchcase(str(col).lower(), self.col.lower()))


def parse_levers(text: str, source: str = "--levers") -> list[Lever]:
    """Lever rules from TOML text (see module docstring)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML: {exc}") from None
    rules = doc.get("lever")
    unknown = set(doc) - {"lever"}
    if not isinstance(rules, list) or unknown or not rules:
        raise InputError(f"{source} must hold [[lever]] tables with row, col and name "
                         f"(e.g. row = \"maturity\", col = \"Champions\", name = \"cross-sell\")")
    out = []
    for k, rule in enumerate(rules, start=1):
        extra = set(rule) - {"row", "col", "name"}
        if extra:
            raise InputError(f"{source}: lever {k} has unknown key {sorted(extra)[0]!r}; use row, col and name")
        if not isinstance(rule.get("name"), str) or not rule["name"].strip():
            raise InputError(f"{source}: lever {k} needs a name, e.g. name = \"retain\"")
        if "row" not in rule and "col" not in rule:
            raise InputError(f"{source}: lever {k} ({rule['name']!r}) needs a row or a col pattern")
        out.append(Lever(name=rule["name"].strip(), row=str(rule.get("row", "*")), col=str(rule.get("col", "*"))))
    return out


def load_levers(path: str | Path) -> list[Lever]:
    """Lever rules from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read --levers {str(path)!r}: {exc.strerror}") from None
    return parse_levers(text, f"--levers {path}")


@dataclass
class MatrixResult:
    """Cells of the matrix and the customers with their lever.

    Attributes
    ----------
    cells : pl.DataFrame
        One row per non-empty cell, rows in stage order: customers, share of
        all customers, value total and mean, churn rate, lever.
    customers : pl.DataFrame
        The input with the lever of its cell (column ``lever``) when levers are given.
    """

    cells: pl.DataFrame
    customers: pl.DataFrame
    rows: str
    cols: str
    params_: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return dict(self.params_)


def matrix(frame: pl.DataFrame | pl.LazyFrame, *, rows: str, cols: str, value: str | None = None,
           outcome: str | None = None, levers: list[Lever] | None = None, max_levels: int = MAX_LEVELS) -> MatrixResult:
    """Customers, value and churn per cell of *rows* x *cols* (see module docstring)."""
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    for col, role in ((rows, "--rows"), (cols, "--cols"), (value, "--value"), (outcome, "--outcome")):
        if col is not None and col not in df.columns:
            raise ColumnNotFoundError(col, df.columns, role=role)
    if rows == cols:
        raise OptionError("--rows and --cols name the same column; choose two segmentations")
    if levers is not None and "lever" in df.columns:
        raise DataError("the table already has a 'lever' column; drop it to plan levers again")
    for col, role in ((rows, "--rows"), (cols, "--cols")):
        levels = df[col].n_unique()
        if levels > max_levels:
            raise DataError(f"{role} column {shown(col)} has {levels:,} distinct values: a matrix needs a "
                            f"segmentation (at most {max_levels}), e.g. a stage or an RFM segment, not a measure")
    warn_missing(count_missing(df, [rows, cols]), then="those customers form a row or column '(none)'")
    warn_missing(count_missing(df, [c for c in (value, outcome) if c]), then="left out of that cell's figure")
    work = df.select(pl.col(rows).cast(pl.String).fill_null("(none)").alias("__r"),
                     pl.col(cols).cast(pl.String).fill_null("(none)").alias("__c"))
    aggs = [pl.len().alias("customers")]
    if value is not None:
        work = work.with_columns(require_numeric(df.lazy().select(value), value, option="--value").collect()[value]
                                 .alias("__v"))
        aggs += [pl.col("__v").sum().alias("value_total"), pl.col("__v").mean().alias("value_mean")]
    if outcome is not None:
        work = work.with_columns(flag_values(df, outcome, role="--outcome").cast(pl.Float64).alias("__y"))
        aggs += [pl.col("__y").mean().alias("churn_rate")]
    cells = work.group_by("__r", "__c").agg(aggs)
    cells = cells.with_columns((pl.col("customers") / df.height).alias("share"))
    cells = cells.sort(_order("__r"), _order("__c"), "__r", "__c")
    customers = df
    if levers is not None:
        names = [_lever(levers, r, c) for r, c in cells.select("__r", "__c").iter_rows()]
        cells = cells.with_columns(pl.Series("lever", names, dtype=pl.String))
        unused = [lv for lv in levers if not any(lv.matches(r, c) for r, c in cells.select("__r", "__c").iter_rows())]
        for lv in unused:
            warnings.warn(f"lever {lv.name!r} (row {lv.row!r}, col {lv.col!r}) matches no cell of the matrix",
                          SegmentWarning, stacklevel=2)
        lookup = cells.select("__r", "__c", "lever")
        customers = df.with_columns(work.join(lookup, on=["__r", "__c"], how="left", maintain_order="left")["lever"])
    keep = ["customers", "share", *[a.meta.output_name() for a in aggs[1:]], *(["lever"] if levers is not None else [])]
    cells = cells.select(pl.col("__r").alias(rows), pl.col("__c").alias(cols), *keep)
    return MatrixResult(cells=cells, customers=customers, rows=rows, cols=cols,
                        params_={"rows": rows, "cols": cols, "value": value, "outcome": outcome,
                                 "levers": [vars(lv) for lv in levers] if levers is not None else None})


def _lever(levers: list[Lever], row: str, col: str) -> str | None:
    return next((lv.name for lv in levers if lv.matches(row, col)), None)


def _order(column: str) -> pl.Expr:
    """Lifecycle stages in their order, everything else after them (then by name)."""
    rank = {s: k for k, s in enumerate(STAGE_ORDER)}
    return pl.col(column).str.to_lowercase().replace_strict(rank, default=len(STAGE_ORDER), return_dtype=pl.Int32)
