"""A monthly usage panel checked and laid out as a complete month grid.

:func:`load_panel` turns rows of (customer, month, metrics, status ...) into a
:class:`Grid`: one slot per customer and calendar month from the customer's
first row to ``as_of``, in customer order then month order, as flat numpy
arrays. Months without a row inside that span hold zero usage, so a gap is
read as "no usage" rather than as absence, and a line whose rows stop (after
a cancellation, say) keeps slots up to ``as_of``.

Months are integers ``year * 12 + month - 1`` throughout, so month
arithmetic is integer arithmetic.

Examples
--------
>>> import polars as pl
>>> panel = pl.DataFrame({"id": ["b", "a", "a"], "month": ["2024-03", "2024-01", "2024-03"],
...                       "calls": [5.0, 1.0, 2.0]})
>>> grid = load_panel(panel, id="id", month="month", metrics={"calls": "metric"})
>>> grid.ids.to_list(), grid.k.tolist(), [month_label(m) for m in grid.m]
(['a', 'b'], [0, 0, 0, 1], ['2024-01', '2024-02', '2024-03', '2024-03'])
>>> grid.x["calls"].tolist()  # February of 'a' is a gap: zero usage
[1.0, 0.0, 2.0, 5.0]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from segment.columns import parse_dates, require_columns, require_numeric, warn_missing
from segment.errors import ColumnTypeError, DataError, EmptyInputError, OptionError, SegmentWarning

#: "No such month" in month arrays; below every real month.
NO_MONTH = np.iinfo(np.int32).min // 2
#: Status codes in :attr:`Grid.status`; -1 = no row (a gap) or no status column.
ACTIVE, SUSPENDED, CANCELLED = 0, 1, 2
STATUS_NAMES = ("active", "suspended", "cancelled")
#: Text accepted in the month column: ``2024-01``, ``202401``, ``2024/01``,
#: ``2024-01-15``, ``20240115``, ``2024-01-15 10:00:00``.
_MONTH_TEXT = r"^(\d{4})[-/]?(\d{1,2})(?:[-/]?\d{1,2})?(?:[ T].*)?$"
_M = "__month__"
_S = "__status__"
_A = "__activation__"
_ID = "__identity__"


def month_index(year: int, month: int) -> int:
    """``year * 12 + month - 1``, the integer month used in grids.

    >>> month_index(2024, 1) - month_index(2023, 12)
    1
    """
    return year * 12 + month - 1


def month_date(index: int) -> date:
    """First day of an integer month.

    >>> month_date(month_index(2024, 2))
    datetime.date(2024, 2, 1)
    """
    return date(int(index) // 12, int(index) % 12 + 1, 1)


def month_label(index: int) -> str:
    """``YYYY-MM`` of an integer month."""
    return f"{int(index) // 12:04d}-{int(index) % 12 + 1:02d}"


def parse_month_option(value: str | date | None, option: str = "--as-of") -> int | None:
    """An option such as ``--as-of 2024-06`` as an integer month.

    >>> month_label(parse_month_option("2024-06-30"))
    '2024-06'
    """
    if value is None:
        return None
    if isinstance(value, date):
        return month_index(value.year, value.month)
    hit = re.match(_MONTH_TEXT, str(value).strip())
    if hit is None or not 1 <= int(hit.group(2)) <= 12:
        raise OptionError(f"{option} must be a month like 2024-06 (or a date), got {value!r}")
    return month_index(int(hit.group(1)), int(hit.group(2)))


def months_expr(frame: pl.LazyFrame, column: str, date_format: str | None = None) -> pl.Expr:
    """Expression giving *column* as integer months (null where it does not parse).

    With *date_format* (strftime), text is parsed with it, e.g. ``%m/%d/%Y``.
    """
    dtype = frame.collect_schema()[column]
    col = pl.col(column)
    if date_format is not None and (dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)):
        col = col.cast(pl.String).str.strip_chars().str.to_date(date_format, strict=False)
        return (col.dt.year().cast(pl.Int32) * 12 + col.dt.month().cast(pl.Int32) - 1).alias(_M)
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return (col.dt.year().cast(pl.Int32) * 12 + col.dt.month().cast(pl.Int32) - 1).alias(_M)
    if dtype.is_integer():
        v = col.cast(pl.Int64)
        # 202401 (YYYYMM) or 20240115 (YYYYMMDD).
        ym = pl.when(v >= 10_000_000).then(v // 100).otherwise(v)
        year, mon = ym // 100, ym % 100
        ok = (year >= 1000) & (year <= 9999) & (mon >= 1) & (mon <= 12) & (v < 100_000_000)
        return pl.when(ok).then(year * 12 + mon - 1).cast(pl.Int32).alias(_M)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        parts = col.cast(pl.String).str.strip_chars().str.extract_groups(_MONTH_TEXT)
        year = parts.struct.field("1").cast(pl.Int32)
        mon = parts.struct.field("2").cast(pl.Int32)
        return pl.when((mon >= 1) & (mon <= 12)).then(year * 12 + mon - 1).cast(pl.Int32).alias(_M)
    raise ColumnTypeError(f"month column {column!r} must hold months (a date, YYYY-MM or YYYYMM), but it is {dtype}")


@dataclass
class Grid:
    """A panel as a complete customer x month grid (see module docstring).

    Per customer (length ``n``, customer order = sorted ids): ``ids``,
    ``identity`` (or None), ``first_seen`` (first month with a row),
    ``activation`` (month or :data:`NO_MONTH` where unknown; None without the
    column), ``start`` (offset of the customer's first
    slot) and ``length`` (slots). Per slot (length ``N``): ``k`` (customer
    position), ``m`` (month), ``x`` (metric column -> float64 usage) and
    ``status`` (int8 codes, or None).
    """

    ids: pl.Series
    identity: pl.Series | None
    first_seen: np.ndarray
    activation: np.ndarray | None
    start: np.ndarray
    length: np.ndarray
    k: np.ndarray
    m: np.ndarray
    x: dict[str, np.ndarray]
    status: np.ndarray | None
    first_month: int
    as_of: int
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.first_seen)

    @property
    def size(self) -> int:
        return len(self.k)

    def per_slot(self, values: np.ndarray) -> np.ndarray:
        """Broadcast a per-customer array to slots."""
        return values[self.k]

    def last_slots(self) -> np.ndarray:
        """Slot index of each customer's ``as_of`` month."""
        return self.start + self.length - 1


def load_panel(
    panel: pl.LazyFrame | pl.DataFrame,
    *,
    id: str,
    month: str,
    metrics: Mapping[str, str],
    status: str | None = None,
    status_values: Mapping[str, list[str]] | None = None,
    identity: str | None = None,
    activation: str | None = None,
    date_format: str | None = None,
    as_of: str | date | None = None,
    dedupe: str = "error",
) -> Grid:
    """Check a monthly panel and lay it out as a :class:`Grid`.

    Parameters
    ----------
    metrics
        Usage column -> role (``voice``, ``data``, ``revenue`` or ``metric``).
    status_values
        Status name (``active``, ``suspended``, ``cancelled``) -> the values
        that mean it (compared case-insensitively). Unlisted names keep their
        own word.
    dedupe
        ``error`` (duplicate customer-months are an error) or ``sum``.

    Raises
    ------
    ColumnNotFoundError, ColumnTypeError, DataError, EmptyInputError, OptionError
    """
    lf = panel.lazy()
    check_columns(lf, id=id, month=month, metrics=metrics, status=status, identity=identity, activation=activation,
                  dedupe=dedupe)
    columns = list(dict.fromkeys([id, month, *metrics, *(c for c in (status, identity, activation) if c)]))
    lf = lf.select(columns)
    for col, role in metrics.items():
        lf = require_numeric(lf, col, option=f"--{role}" if role in ("voice", "data", "revenue") else "--metric")
    lf, exprs = code_exprs(lf, id=id, month=month, metrics=list(metrics), status=status, status_values=status_values,
                           identity=identity, activation=activation, date_format=date_format)
    # One pass over the input: later checks and the grid work on this frame in memory.
    df = lf.select(exprs).collect()
    _precheck(lf, df, id, month, list(metrics), status, identity, activation)
    lo, hi = int(df[_M].min()), int(df[_M].max())  # type: ignore[arg-type]
    rows = df.height
    cut, end = last_month(lo, hi, as_of)
    later = 0
    if cut is not None and hi > cut:
        df = df.filter(pl.col(_M) <= cut)
        later = rows - df.height
        warn_left_out(later, cut)
    if df.height == 0:
        raise EmptyInputError(f"no rows up to --as-of {month_label(end)}")
    grid = lay_out(df, id=id, metrics=list(metrics), first_month=lo, as_of=end, status=status, identity=identity,
                   activation=activation, dedupe=dedupe, lf=lf, month=month, date_format=date_format)
    grid.stats.update(rows=rows, after_as_of=later)
    return grid


def last_month(lo: int, hi: int, as_of: str | date | None) -> tuple[int | None, int]:
    """``--as-of`` (None when not given) and the last month analysed, for a panel from *lo* to *hi*."""
    cut = parse_month_option(as_of)
    end = hi if cut is None else cut
    if end < lo:
        raise OptionError(f"--as-of {month_label(end)} is before the panel's first month {month_label(lo)}")
    if cut is not None and cut > hi:
        warnings.warn(f"--as-of {month_label(cut)} is after the panel's last month {month_label(hi)}; "
                      "the months in between count as months without usage", SegmentWarning, stacklevel=4)
    return cut, end


def warn_left_out(rows: int, cut: int) -> None:
    warnings.warn(f"left out {rows:,} rows after --as-of {month_label(cut)}", SegmentWarning, stacklevel=4)


def code_exprs(lf: pl.LazyFrame, *, id: str, month: str, metrics: list[str], status: str | None,
               status_values: Mapping[str, list[str]] | None, identity: str | None, activation: str | None,
               date_format: str | None) -> tuple[pl.LazyFrame, list[pl.Expr]]:
    """The panel's columns as the grid reads them: integer months, status codes, identity text, activation month.

    Row-wise, so that the Spark engine runs the same expressions batch by
    batch (:mod:`segment.lifecycle._spark`).
    """
    exprs = [pl.col(id), months_expr(lf, month, date_format), *(pl.col(c) for c in metrics)]
    if status:
        exprs.append(_status_expr(lf, status, status_values))
    if identity:
        exprs.append(pl.col(identity).cast(pl.String).alias(_ID))
    if activation:
        lf = parse_dates(lf, activation, date_format)
        exprs.append((pl.col(activation).dt.year().cast(pl.Int32) * 12
                      + pl.col(activation).dt.month().cast(pl.Int32) - 1).alias(_A))
    return lf, exprs


def lay_out(df: pl.DataFrame, *, id: str, metrics: list[str], first_month: int, as_of: int, status: str | None,
            identity: str | None, activation: str | None, dedupe: str = "error", lf: pl.LazyFrame | None = None,
            month: str | None = None, date_format: str | None = None) -> Grid:
    """The :class:`Grid` of checked rows in the columns of :func:`code_exprs`, up to *as_of*.

    *first_month* is the panel's first month (also when *df* holds only
    some of its customers, as a Spark partition does). *lf* and *month*
    locate duplicate rows for the message of ``dedupe="error"``.
    """
    df, new = _in_order(df, id, lf, month, metrics, dedupe, date_format)
    return _layout(df, new, id, metrics, first_month=first_month, as_of=as_of, status=status, identity=identity,
                   activation=activation)


def check_columns(frame: object, *, id: str, month: str, metrics: Mapping[str, str], status: str | None,
                  identity: str | None, activation: str | None, dedupe: str) -> None:
    """The named columns exist and play one role each (*frame*: a polars or a Spark DataFrame)."""
    if dedupe not in ("error", "sum"):
        raise OptionError(f"--dedupe must be error or sum, got {dedupe!r}")
    roles = {"id": id, "month": month, **{role: col for col, role in metrics.items()}}
    roles.update({k: v for k, v in (("status", status), ("identity", identity), ("activation", activation)) if v})
    require_columns(frame, roles)  # type: ignore[arg-type]
    for col in metrics:
        if col in (id, month, status, identity, activation):
            raise OptionError(f"column {col!r} cannot be both a usage metric and the {_role_of(col, roles)} column")


def _role_of(col: str, roles: Mapping[str, str]) -> str:
    return next(r for r, c in roles.items() if c == col and r in ("id", "month", "status", "identity", "activation"))


def _status_expr(lf: pl.LazyFrame, status: str, values: Mapping[str, list[str]] | None,
                 names: tuple[str, ...] = STATUS_NAMES) -> pl.Expr:
    """Status text -> ACTIVE / SUSPENDED / CANCELLED codes (null for unknown text).

    *names* may extend :data:`STATUS_NAMES` (codes follow their position).

    Values are matched case-insensitively after trimming. The column's few
    distinct values are read first and mapped in Python, so the rows need
    only equality tests (several times faster than a lookup per row).
    """
    words: dict[str, int] = {}
    given = {k.strip().lower(): v for k, v in (values or {}).items()}
    for unknown in sorted(set(given) - set(names)):
        raise OptionError(f"--status-values: {unknown!r} is not one of {', '.join(names)}")
    for code, name in enumerate(names):
        for word in given.get(name, [name]):
            word = str(word).strip().lower()
            if word in words and words[word] != code:
                raise OptionError(f"--status-values: {word!r} is given for two statuses")
            words[word] = code
    raw = pl.col(status).cast(pl.String)
    seen = lf.select(raw.unique()).collect().to_series().drop_nulls().to_list()
    mapping = {v: words[v.strip().lower()] for v in seen if v.strip().lower() in words}
    if len(mapping) > 16:
        return raw.replace_strict(mapping, default=None, return_dtype=pl.Int8).alias(_S)
    code = pl.lit(None, dtype=pl.Int8)
    for value, c in mapping.items():
        code = pl.when(raw == value).then(pl.lit(c, dtype=pl.Int8)).otherwise(code)
    return code.alias(_S)


def _precheck(lf: pl.LazyFrame, df: pl.DataFrame, id: str, month: str, metrics: list[str],
              status: str | None, identity: str | None, activation: str | None,
              status_names: tuple[str, ...] = STATUS_NAMES) -> None:
    """Nulls, bad months, negatives and unknown statuses; the offending row only on failure."""
    if metrics and df.height:
        warn_missing(dict(zip(metrics, df.select(pl.col(c).null_count() for c in metrics).row(0), strict=True)),
                     stacklevel=3)
    checks: list[tuple[str, pl.Expr, str]] = [(id, pl.col(id).is_null(), "null")]
    if identity:
        checks.append((identity, pl.col(_ID).is_null(), "null"))
    checks.append((month, pl.col(_M).is_null(), "month"))
    for col in metrics:
        checks += [(col, pl.col(col).is_null(), "null"), (col, ~pl.col(col).is_finite(), "finite"),
                   (col, pl.col(col) < 0, "negative")]
    if status:
        checks.append((status, pl.col(_S).is_null(), "status"))
    found = df.select(pl.sum_horizontal(e.sum() for _, e, _ in checks)).item() if df.height else 0
    if not found:
        return
    for col, expr, kind in checks:
        hits = df.select(expr.arg_true()).to_series()
        if hits.len() == 0:
            continue
        at = int(hits[0]) + 1
        value = lf.slice(at - 1, 1).select(col).collect().item()
        raise bad_value(col, kind, value, hits.len(), at, status_names)


def bad_value(col: str, kind: str, value: object, n: int, row: int | None = None,
              status_names: tuple[str, ...] = STATUS_NAMES) -> DataError:
    """The error for *n* rows failing a check of :func:`_precheck`, naming the first *row* when rows have an order.

    (Spark rows have none: without *row* the message counts the rows.)

    >>> str(bad_value("voice", "negative", -5.0, 2))
    "column 'voice' is negative (-5.0) in 2 rows; usage cannot be negative: fix the extract or leave the column out"
    """
    counted = f"{n:,} rows"
    at = f"row {row}" if row else counted
    if value is None or kind == "null":
        return DataError(f"column {col!r} is empty (null) in {counted}{f', first in row {row}' if row else ''}; "
                         "fill or drop those rows")
    if kind == "month":
        return DataError(f"column {col!r} has a value that is not a month: {value!r} ({at}); "
                         "use a date, YYYY-MM or YYYYMM, or give its format with --date-format")
    if kind == "finite":
        return DataError(f"column {col!r} holds {value} in {at}; usage must be a finite number")
    if kind == "negative":
        return DataError(f"column {col!r} is negative ({value}) in {at}{f' ({counted})' if row else ''}; "
                         "usage cannot be negative: fix the extract or leave the column out")
    return DataError(f"column {col!r} has an unknown status {value!r} ({at}); map it with "
                     f"--status-values, e.g. 'cancelled={value}' (known: {', '.join(status_names)})")


def _in_order(df: pl.DataFrame, id: str, lf: pl.LazyFrame | None, month: str | None, metrics: list[str],
              dedupe: str, date_format: str | None = None) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows sorted by (id, month), one per customer-month; and where each customer's rows begin.

    One comparison of each id with the previous one finds the runs of equal
    ids; the rows are in order when the runs' ids increase and the months
    increase within each run (both cheap checks on integers or on one id
    per run). Extracts usually come sorted: sorting 20M text keys would be
    the slowest step.
    """
    new = _runs(df, id)
    m = df[_M].to_numpy()
    begins = np.flatnonzero(new)
    heads = df[id].gather(begins)
    ordered = bool((heads.slice(1) > heads.slice(0, len(heads) - 1)).all()) if len(heads) > 1 else True
    ordered = ordered and bool(np.all((m[1:] >= m[:-1]) | new[1:]))
    if not ordered:
        df = df.sort(id, _M)
        new, m = _runs(df, id), df[_M].to_numpy()
    dup = np.flatnonzero((m[1:] == m[:-1]) & ~new[1:])
    if dup.size == 0:
        return df, new
    if dedupe == "error":
        key, when = df[id][int(dup[0]) + 1], int(m[dup[0] + 1])
        hits = [] if lf is None or month is None else (
            lf.with_row_index("__row__", offset=1)
            .filter(pl.col(id) == key)
            .select("__row__", months_expr(lf, month, date_format)).filter(pl.col(_M) == when)
            .select("__row__").head(2).collect()["__row__"].to_list())
        where = f" (rows {hits[0]} and {hits[1]})" if len(hits) == 2 else ""
        raise DataError(f"customer {key!r} has more than one row for {month_label(when)}{where}; "
                        "pass --dedupe sum to add such rows up")
    aggs = [pl.col(c).sum() for c in metrics]
    aggs += [pl.col(c).max() if c == _S else pl.col(c).first()
             for c in df.columns if c not in (id, _M, *metrics)]
    df = df.group_by(id, _M, maintain_order=True).agg(aggs)
    return df, _runs(df, id)


def _runs(df: pl.DataFrame, id: str) -> np.ndarray:
    """True where a row's id differs from the previous row's (and on the first row)."""
    return df[id].ne_missing(df[id].shift(1)).fill_null(True).to_numpy()


def _layout(df: pl.DataFrame, new: np.ndarray, id: str, metrics: list[str], *, first_month: int, as_of: int,
            status: str | None, identity: str | None, activation: str | None) -> Grid:
    m_rows = df[_M].to_numpy().astype(np.int32)
    begins = np.flatnonzero(new)
    k_rows = (np.cumsum(new) - 1).astype(np.int32)
    first_seen = m_rows[begins]
    length = (as_of - first_seen + 1).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    size = int(length.sum())
    complete = size == df.height
    slot = None if complete else start[k_rows] + (m_rows - first_seen[k_rows])
    # k and m by cumulative sums of small steps: +1 per customer, +1 per month (restarting per customer).
    step = np.zeros(size, dtype=np.int32)
    step[start[1:]] = 1
    k = np.cumsum(step, dtype=np.int32)
    step[:] = 1
    step[0] = first_seen[0]
    step[start[1:]] = first_seen[1:] - as_of
    m = np.cumsum(step, dtype=np.int32)
    del step

    def spread(values: np.ndarray, fill: float | int, dtype: type) -> np.ndarray:
        if slot is None:
            return values.astype(dtype, copy=False)
        out = np.zeros(size, dtype=dtype) if fill == 0 else np.full(size, fill, dtype=dtype)
        out[slot] = values
        return out

    x = {}
    for c in metrics:
        x[c] = spread(df[c].to_numpy(), 0.0, np.float64)
        if slot is not None:
            df = df.drop(c)  # the grid holds a copy: free the input's column now
    codes = spread(df[_S].to_numpy(), -1, np.int8) if status else None
    people = None
    if identity:
        _one_per_customer(df, new, id, _ID, identity, "identity")
        people = df[_ID].gather(begins)
    act = None
    if activation:
        _one_per_customer(df, new, id, _A, activation, "activation month")
        # An unknown activation date falls back, for that customer, to the first month with usage.
        act = df[_A].fill_null(NO_MONTH).to_numpy()[begins].astype(np.int32)
    return Grid(ids=df[id].gather(begins), identity=people, first_seen=first_seen, activation=act, start=start,
                length=length, k=k, m=m, x=x, status=codes, first_month=first_month, as_of=as_of,
                stats={"customers": len(begins), "slots": size, "gap_slots": size - df.height})


def _one_per_customer(df: pl.DataFrame, new: np.ndarray, id: str, col: str, shown: str, what: str) -> None:
    # Hashes compare fast and without copying long text; a collision could only hide an inconsistency.
    h = df[col].hash().to_numpy()
    at = np.flatnonzero((h[1:] != h[:-1]) & ~new[1:]) + 1
    if at.size == 0:
        return
    row = int(at[0])
    a, b = df[col][row - 1], df[col][row]
    if col == _A:
        a, b = (month_label(v) if v is not None else None for v in (a, b))
    raise DataError(f"customer {df[id][row]!r} has more than one {what} in column {shown!r} ({a!r} and {b!r}); "
                    f"each customer must keep one {what}")
