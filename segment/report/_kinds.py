"""What a table is (which command wrote it) and which charts and tables show it.

A kind is found from the table's provenance (the command, and the role of
a side output such as ``--profile``), else from its columns' signature
(CSV carries no provenance), and ``kind=`` overrides both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from segment.errors import InputError, OptionError
from segment.report._charts import Chart

ChartMaker = Callable[[pl.LazyFrame], Chart | None]
TableMaker = Callable[[pl.LazyFrame], pl.DataFrame]


@dataclass(frozen=True)
class Kind:
    """A kind of table ``segment`` writes, and how it is shown.

    Attributes
    ----------
    name : str
        As given to ``--kind`` (``rfm``, ``cluster-profile``, ...).
    title : str
        Heading in a report.
    command : str
        The provenance ``command`` of the tables of this kind.
    role : str or None
        The provenance ``details.role`` of a side output (``profile``), None for a main output.
    signature : tuple of str
        Columns every table of this kind has (how a CSV is recognised).
    charts : tuple of (name, title, maker)
        The charts, the first the natural one; a maker returns None when its
        columns are absent (e.g. stability without ``--stability``).
    tables : tuple of (title, maker)
        Aggregate tables shown in a report.
    per_customer : bool
        Rows are customers: a report shows them only with ``include_rows``.
    call_order : tuple of (column, descending) or None
        Order of the rows ``include_rows`` shows (a call list's top first).
    excludes : tuple of str
        Columns a table of this kind never has (tells a snapshot from a history).
    may_be_null : tuple of str
        Signature columns that are empty by design in some rows (not reported as missing).
    keeps_input : bool
        The command adds its columns to its input's (``cluster``): a table
        with its signature was made by it last, whatever else it holds.
    """

    name: str
    title: str
    command: str
    role: str | None
    signature: tuple[str, ...]
    charts: tuple[tuple[str, str, ChartMaker], ...]
    tables: tuple[tuple[str, TableMaker], ...] = ()
    per_customer: bool = False
    call_order: tuple[str, bool] | None = None
    excludes: tuple[str, ...] = ()
    may_be_null: tuple[str, ...] = ()
    keeps_input: bool = False

    def fits(self, columns: Sequence[str]) -> bool:
        """The columns carry this kind's signature."""
        return set(self.signature) <= set(columns) and not set(self.excludes) & set(columns)


def find_kind(kinds: Sequence[Kind], columns: Sequence[str], provenance: dict[str, Any] | None = None,
              kind: str | None = None, name: str = "the table", empty: bool = False) -> Kind:
    """The kind of a table: *kind* if given, else from provenance, else from the columns.

    Raises
    ------
    OptionError
        *kind* is not a known kind (the message lists them).
    InputError
        The table is not one ``segment`` knows how to chart (the message lists the kinds).
    """
    names = ", ".join(k.name for k in kinds)
    if kind is not None:
        found = [k for k in kinds if k.name == kind]
        if not found:
            raise OptionError(f"unknown --kind {kind!r}; use one of {names}")
        return found[0]
    if provenance:
        role = (provenance.get("details") or {}).get("role")
        made = [k for k in kinds if k.command == provenance.get("command") and k.role == role]
        fitting = [k for k in made if k.fits(columns)]
        if fitting:
            return fitting[0]
    fitting = [k for k in kinds if k.fits(columns)]
    if fitting:
        # A cluster of an RFM table also has RFM's columns: the last step wins, then the most specific.
        return max(fitting, key=lambda k: (k.keeps_input, len(k.signature)))
    made_by = f" (written by segment {provenance['command']})" if provenance and provenance.get("command") else ""
    rows = " has a header but no data rows, and" if empty else ""
    raise InputError(f"input {name!r}{made_by}{rows} is not a table segment knows how to chart; "
                     f"name its kind with --kind, one of {names}")
