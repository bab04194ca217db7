"""One row per customer from the per-customer outputs of several commands.

Each input is one table with the customer key (``rfm``, ``cluster``,
``lifecycle``, ``churn score``, ``clv``, or any table with the id). A column
that more than one input has (other than the key) is prefixed in every input
that has it, by the command that made that input (from its provenance:
``rfm_segment``, ``cluster_segment``), or by the file's name when the input
carries no provenance. ``how="left"`` keeps the first input's customers;
``how="inner"`` keeps the customers every input has.

Examples
--------
>>> import polars as pl
>>> rfm = pl.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["Champions", "Lost", "Loyal"]})
>>> life = pl.DataFrame({"customer_id": ["b", "a", "d"], "stage": ["decline", "maturity", "exit"],
...                      "segment": ["x", "y", "z"]})
>>> r = join([rfm, life], names=["rfm.parquet", "stages.parquet"], commands=["rfm", "lifecycle"], id="customer_id")
>>> r.table.rows()
[('a', 'Champions', 'maturity', 'y'), ('b', 'Lost', 'decline', 'x'), ('c', 'Loyal', None, None)]
>>> r.table.columns
['customer_id', 'rfm_segment', 'stage', 'lifecycle_segment']
>>> r.missing
{'rfm.parquet': 1, 'stages.parquet': 1}
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import polars as pl

from segment.errors import ColumnNotFoundError, DataError, OptionError, SegmentWarning, shown

HOWS = ("left", "inner")


@dataclass
class JoinResult:
    """The joined table and what happened to each input.

    Attributes
    ----------
    table : pl.DataFrame
        One row per customer.
    columns : dict
        Input name -> {column in the input: column in the table}.
    missing : dict
        Input name -> customers of the union of all inputs that this input lacks.
    dropped : int
        Customers of some input that the table does not keep.
    """

    table: pl.DataFrame
    columns: dict[str, dict[str, str]]
    missing: dict[str, int]
    dropped: int
    rows: dict[str, int] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return {"columns": self.columns, "missing": self.missing, "dropped": self.dropped, "rows": self.rows}


def label_of(name: str, command: str | None) -> str:
    """The prefix of an input's clashing columns: its command's first word, else the file's stem.

    >>> label_of("out/scores.parquet", "churn score"), label_of("data/my-table.csv.gz", None)
    ('churn', 'my_table')
    """
    if command:
        word = command.split()[0]
    else:
        stem = PurePath(name).name
        word = stem.split(".")[0] if stem not in ("-", "") else "stdin"
    return re.sub(r"\W+", "_", word).strip("_").lower() or "input"


def join(frames: Sequence[pl.DataFrame | pl.LazyFrame], *, names: Sequence[str], id: str,
         commands: Sequence[str | None] | None = None, how: str = "left") -> JoinResult:
    """Join per-customer tables on *id* (see module docstring).

    Parameters
    ----------
    frames
        The tables, in order; with ``how="left"`` the first is the base.
    names
        A name per table (its path), used in messages and provenance.
    commands
        The command that made each table (from its provenance), or None.
    how
        ``left`` or ``inner``.
    """
    if how not in HOWS:
        raise OptionError(f"--how must be one of {', '.join(HOWS)}, got {how!r}")
    if len(frames) < 2:
        raise OptionError("join needs at least two tables")
    commands = list(commands) if commands is not None else [None] * len(frames)
    dfs = [f.collect() if isinstance(f, pl.LazyFrame) else f for f in frames]
    for df, name in zip(dfs, names, strict=True):
        if id not in df.columns:
            raise ColumnNotFoundError(id, df.columns, role=f"--id in {name}")
    dfs = [_checked(df, name, id) for df, name in zip(dfs, names, strict=True)]
    if len({df[id].dtype for df in dfs}) > 1:  # e.g. ids read as numbers from one file, text from another
        dfs = [df.with_columns(pl.col(id).cast(pl.String)) for df in dfs]

    labels = _labels(names, commands)
    seen: dict[str, int] = {}
    for df in dfs:
        for c in df.columns:
            if c != id:
                seen[c] = seen.get(c, 0) + 1
    mapping: dict[str, dict[str, str]] = {}
    renamed = []
    for df, name, label in zip(dfs, names, labels, strict=True):
        cols = {c: (f"{label}_{c}" if seen[c] > 1 else c) for c in df.columns if c != id}
        mapping[name] = cols
        renamed.append(df.rename({k: v for k, v in cols.items() if k != v}))
    final: dict[str, str] = {}
    for name, cols in mapping.items():
        for new in cols.values():
            if new in final or new == id:
                raise DataError(f"column {shown(new)} would come from both {final.get(new, name)} and {name}; "
                                "rename one of them before joining")
            final[new] = name

    universe = pl.concat([df.select(id) for df in renamed]).unique()
    missing = {name: universe.height - df.height for df, name in zip(renamed, names, strict=True)}
    table = renamed[0]
    for df in renamed[1:]:
        table = table.join(df, on=id, how=how, maintain_order="left")
    dropped = universe.height - table.height
    for name, m in missing.items():
        if m:
            warnings.warn(f"{m:,} of {universe.height:,} customers are missing from {name}", SegmentWarning,
                          stacklevel=2)
    if dropped:
        kept = "in the first input" if how == "left" else "in every input"
        warnings.warn(f"{dropped:,} customers are left out (--how {how} keeps those {kept})", SegmentWarning,
                      stacklevel=2)
    return JoinResult(table=table, columns=mapping, missing=missing, dropped=dropped,
                      rows={name: df.height for df, name in zip(dfs, names, strict=True)})


def _checked(df: pl.DataFrame, name: str, id: str) -> pl.DataFrame:
    nulls = df[id].null_count()
    if nulls:
        warnings.warn(f"{nulls:,} rows of {name} have no {shown(id)}; left out", SegmentWarning, stacklevel=3)
        df = df.filter(pl.col(id).is_not_null())
    dup = df.group_by(id).len().filter(pl.col("len") > 1).sort(id).head(1)
    if dup.height:
        raise DataError(f"{name}: customer {dup[id][0]!r} appears {dup['len'][0]} times in {shown(id)}; join needs "
                        "one row per customer (a --history or stacked table? take one month first)")
    return df


def _labels(names: Sequence[str], commands: Sequence[str | None]) -> list[str]:
    """Prefixes per input; inputs that share a command are told apart by file name, then by number."""
    labels = [label_of(n, c) for n, c in zip(names, commands, strict=True)]
    for lab in list(labels):
        if labels.count(lab) > 1:
            labels = [label_of(names[j], None) if labels[j] == lab else x for j, x in enumerate(labels)]
    counts: dict[str, int] = {}
    out = []
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
        out.append(lab if labels.count(lab) == 1 else f"{lab}{counts[lab]}")
    return out
