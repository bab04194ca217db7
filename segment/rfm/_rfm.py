"""RFM: recency, frequency and monetary value per customer, scored and named.

Definitions (all days are calendar days; datetimes are cut to their date):

recency
    Days from the customer's last purchase to ``as_of`` (default: the day
    after the last transaction in the data, so the latest buyers have 1).
frequency
    Number of purchases (rows with a non-negative amount), or with
    ``frequency="days"`` the number of distinct days with a purchase.
monetary
    Sum of amounts (returns netted by default), or with ``monetary="mean"``
    that sum divided by frequency. Amounts are summed exactly as whole
    millionths (amounts are rounded to 6 decimals first), so the result is
    free of binary noise and the same whatever the row order or thread count.
r_score, f_score, m_score
    1..bins by tie-respecting quantiles (:mod:`segment.binning`), or by
    explicit breaks; recency is reversed so that recent buyers score high.
    With fewer distinct values than bins the values are spread over the
    scale: the highest (for recency: the most recent) scores ``bins``, the
    lowest 1, the others evenly between; a single value scores the middle.
rfm_cell, rfm_score, segment
    The three digits as text (``"545"``), their sum, and the first matching
    named segment (:mod:`segment.rfm._segments`).

A purchase is a row with a non-negative amount (free items and zero-value
orders count, as in lifetimes). Returns (negative amounts) are netted into
monetary by default and never count as purchases. A customer with no
purchase at all (only returns) is left out with a warning.

Examples
--------
>>> import polars as pl
>>> from datetime import date
>>> tx = pl.DataFrame({
...     "customer_id": ["a", "a", "b", "c", "c", "c"],
...     "date": [date(2024, 1, 1), date(2024, 1, 20), date(2024, 1, 10),
...              date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 31)],
...     "amount": [10.0, 30.0, 5.0, 100.0, -20.0, 50.0],
... })
>>> res = rfm(tx, bins=3, segments=None)
>>> res.as_of
datetime.date(2024, 2, 1)
>>> res.table.select("customer_id", "recency", "frequency", "monetary", "rfm_cell")
shape: (3, 5)
┌─────────────┬─────────┬───────────┬──────────┬──────────┐
│ customer_id ┆ recency ┆ frequency ┆ monetary ┆ rfm_cell │
│ ---         ┆ ---     ┆ ---       ┆ ---      ┆ ---      │
│ str         ┆ i64     ┆ u32       ┆ f64      ┆ str      │
╞═════════════╪═════════╪═══════════╪══════════╪══════════╡
│ a           ┆ 12      ┆ 2         ┆ 40.0     ┆ 232      │
│ b           ┆ 22      ┆ 1         ┆ 5.0      ┆ 111      │
│ c           ┆ 1       ┆ 2         ┆ 130.0    ┆ 333      │
└─────────────┴─────────┴───────────┴──────────┴──────────┘
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import date as Date
from datetime import timedelta
from typing import Any, Literal

import polars as pl

from segment import binning
from segment.columns import first_offender, transaction_columns, warn_missing
from segment.errors import DataError, EmptyInputError, OptionError, SegmentWarning
from segment.rfm._segments import SegmentRule, check_fits, default_segments, segment_expr
from segment.spark import is_spark

METRICS = ("recency", "frequency", "monetary")
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_cell", "rfm_score")
#: Amounts are summed exactly in millionths of the currency unit.
MICRO = 1_000_000


@dataclass
class RFMResult:
    """What :func:`rfm` returns.

    Attributes
    ----------
    table : pl.DataFrame
        One row per customer, sorted by id. A Spark DataFrame (not
        collected) when the input was one.
    thresholds : pl.DataFrame
        Per metric and score: customers, share, and the value range covered
        (recency in days). Shows the breakpoints actually used.
    breaks : dict
        The breakpoints per metric (``r``, ``f``, ``m``), reusable as
        ``breaks=`` to score another period on the same scale.
    as_of : datetime.date
    stats : dict
        Counts: transactions used, customers, null ids dropped, returns,
        customers without purchases, rows after as_of.
    """

    table: pl.DataFrame
    thresholds: pl.DataFrame
    breaks: dict[str, list[float]]
    as_of: Date
    stats: dict[str, int] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "breaks": self.breaks}


def rfm(
    transactions: pl.LazyFrame | pl.DataFrame,
    *,
    id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    quantity: str | None = None,
    order: str | None = None,
    as_of: Date | str | None = None,
    bins: int = 5,
    frequency: Literal["transactions", "days"] = "transactions",
    monetary: Literal["sum", "mean"] = "sum",
    returns: Literal["net", "drop", "error"] = "net",
    breaks: dict[str, list[float]] | None = None,
    segments: list[SegmentRule] | None | Literal["default"] = "default",
    btyd: bool = False,
    holdout_end: Date | str | None = None,
    strict: bool = False,
    date_format: str | None = None,
) -> RFMResult:
    """Score customers by recency, frequency and monetary value.

    Parameters
    ----------
    transactions
        One row per transaction: customer id, date (or datetime, or text),
        amount. Extra columns are ignored. A PySpark DataFrame runs on its
        Spark session (:mod:`segment.rfm._spark`; not with *btyd* or
        *holdout_end*), and ``table`` is then a Spark DataFrame.
    id, date, amount
        Column names.
    quantity
        Optional quantity column; the amount is then ``amount * quantity``
        (e.g. unit price times quantity in retail extracts).
    order
        Optional order (invoice) column: frequency then counts distinct
        orders with a purchase rather than rows, so that an order of many
        lines counts once (and ``monetary="mean"`` is spend per order).
    as_of
        Analysis date; default the day after the last transaction.
        Transactions after it are left out with a warning.
    bins
        Number of scores per metric (2-10).
    frequency, monetary, returns
        See the module docstring.
    breaks
        Explicit ascending breakpoints per metric key ``r``/``f``/``m``
        (``bins - 1`` each). For f and m bins are ``[lo, hi)``: a value
        below the first break scores 1. For recency (days) bins are
        ``(lo, hi]``: a recency up to the first break scores ``bins``, so
        ``r=30,90,180,365`` reads "bought within 30 days scores 5".
    segments
        ``"default"`` (the ten classic segments, 5 bins only), a list of
        :class:`~segment.rfm._segments.SegmentRule`, or None for no names.
    btyd
        Add ``frequency_btyd``, ``recency_btyd``, ``T`` and
        ``monetary_value`` with the meaning of lifetimes'
        ``summary_data_from_transaction_data`` (daily periods, repeat
        purchases only; see README).
    holdout_end
        With ``as_of``: also report what each scored customer did after
        ``as_of`` up to this date (``frequency_holdout``, ``monetary_holdout``,
        ``duration_holdout`` in days), as lifetimes'
        ``calibration_and_holdout_data`` does. Segments made on the past can
        then be checked against the future with ``validate-segment``.
    strict
        Make null customer ids an error instead of dropping them.
    date_format
        strftime format for text dates.
    """
    _check_options(bins, frequency, monetary, returns, breaks)
    if isinstance(segments, str) and segments == "default" and bins != 5:
        # The classic names read scores 1-5: with 10 bins "5" is the middle, not the top.
        raise OptionError(f"the default segment names are written for 5 bins, not {bins}; "
                          f"pass --segments FILE written for {bins} bins, or --segments none")
    if order and (frequency == "days" or btyd):
        raise OptionError("--order counts orders; it does not combine with --frequency days or --btyd "
                          "(which count purchase days)")
    cutoff = None if as_of is None else (_parse_as_of(as_of) if isinstance(as_of, str) else as_of)
    until = _holdout_end(holdout_end, cutoff)
    if is_spark(transactions):
        from segment.rfm._spark import rfm_spark

        return rfm_spark(transactions, id=id, date=date, amount=amount, quantity=quantity, order=order,
                         cutoff=cutoff, bins=bins, frequency=frequency, monetary=monetary, returns=returns,
                         breaks=breaks, segments=segments, btyd=btyd, holdout=until, strict=strict,
                         date_format=date_format)
    lf = transaction_columns(transactions, id=id, date=date, amount=amount, quantity=quantity, order=order,
                             date_format=date_format)
    scored = lf if cutoff is None else lf.filter(pl.col(date) <= cutoff)
    if returns == "drop":
        scored = scored.filter(pl.col(amount) >= 0)
    # Without a cutoff or dropped returns every input row is scored: the checks
    # are then sums over the per-customer aggregates (one scan of the input,
    # as for a bare group-by); otherwise they are a query of their own.
    # (With --btyd only for integer ids: counting faults per day cost more than
    # the separate check; day numbers put faulty rows under the null id instead.)
    whole = cutoff is None and returns != "drop"
    numbered = whole and btyd and lf.collect_schema()[id].is_integer()
    folded = whole and (not btyd or numbered)
    queries = _aggregate_queries(scored, id, date, amount, frequency, btyd, order, checks=folded,
                                 numbered=numbered)
    if not folded:
        queries.insert(0, _check_query(lf, id, date, amount, until or cutoff, order))
    if until is not None:
        window = lf.filter((pl.col(date) > cutoff) & (pl.col(date) <= until))
        queries.append(_holdout_query(window.filter(pl.col(amount) >= 0) if returns == "drop" else window,
                                      id, date, amount, frequency, order))
    # The checks' verdict is read after the aggregation; only a failing check
    # scans again (to count each fault and name the offending row).
    parts = pl.collect_all(queries, engine="streaming")
    check = _folded_check(parts[0], id) if folded else parts.pop(0).row(0, named=True)
    if check is None:
        check = _check_query(lf, id, date, amount, None, order).collect(engine="streaming").row(0, named=True)
    holdout = parts.pop() if until is not None else None
    stats, last_seen = _checked(check, lf, id, date, amount, strict=strict, returns=returns, order=order)
    if numbered and _id_group_rows(parts[0], id) != check["null_ids"]:
        # Some ids or dates are beyond what a day number holds: by id and date, then.
        parts = [q.collect(engine="streaming")
                 for q in _aggregate_queries(scored, id, date, amount, frequency, btyd, order)]
    if stats["null_ids"]:
        warnings.warn(
            f"dropped {stats['null_ids']:,} rows with an empty {id!r} (use --strict to make this an error)",
            SegmentWarning, stacklevel=2,
        )
    if last_seen is None:
        raise EmptyInputError("no transactions to score (the input has no rows with a customer id)")
    as_of = cutoff if cutoff is not None else last_seen + timedelta(days=1)
    if stats["after_as_of"]:
        limit = f"--holdout-end {until}" if until else f"--as-of {as_of}"
        warnings.warn(f"left out {stats['after_as_of']:,} transactions dated after {limit}",
                      SegmentWarning, stacklevel=2)
    per_customer = _combine(parts, id, as_of, btyd)
    stats.update(_counts(per_customer))
    if stats["no_purchase_customers"]:
        warnings.warn(
            f"left out {stats['no_purchase_customers']:,} customers with no purchase "
            "(only returns)", SegmentWarning, stacklevel=2,
        )
    table = per_customer.filter(pl.col("frequency") > 0)
    if table.height == 0 and cutoff is not None and stats["transactions"] == 0:
        raise DataError(f"no transactions on or before --as-of {cutoff}: choose a later date")
    if table.height == 0:
        raise DataError(f"no purchases found: every {amount!r} is negative")
    if monetary == "mean":
        table = table.with_columns(pl.col("monetary") / pl.col("frequency"))

    used_breaks = _breaks(table, bins, breaks)
    rules = segment_rules(segments, bins)
    # The rest is one lazy plan: each eager step would be a query of its own.
    # Sorted before scoring: the text columns are then made in order, not moved.
    plan = score_plan(table.lazy().sort(id), used_breaks, rules)
    columns = [id, *METRICS, *SCORE_COLUMNS, *(["segment"] if rules is not None else [])]
    if btyd:
        columns += ["frequency_btyd", "recency_btyd", "T", "monetary_value"]
    if holdout is not None:
        plan = plan.join(holdout.lazy(), on=id, how="left", maintain_order="left").with_columns(
            frequency_holdout=pl.col("frequency_holdout").fill_null(0).cast(pl.UInt32),
            monetary_holdout=pl.col("monetary_holdout").fill_null(0) / MICRO,
            duration_holdout=pl.lit((until - as_of).days, dtype=pl.Int64),
        )
        columns += ["frequency_holdout", "monetary_holdout", "duration_holdout"]
    # One chunk: Parquet row groups follow the chunks, which the streaming
    # engine cuts differently from run to run (same input, other bytes).
    table = plan.select(columns).collect().rechunk()
    return RFMResult(table, _thresholds(table), used_breaks, as_of, stats)


def _check_options(bins: int, frequency: str, monetary: str, returns: str,
                   breaks: dict[str, list[float]] | None) -> None:
    if not 2 <= bins <= 10:
        raise OptionError(f"--bins must be between 2 and 10, got {bins}")
    for name, value, allowed in (("frequency", frequency, ("transactions", "days")),
                                 ("monetary", monetary, ("sum", "mean")),
                                 ("returns", returns, ("net", "drop", "error"))):
        if value not in allowed:
            raise OptionError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
    for key, edges in (breaks or {}).items():
        if key not in ("r", "f", "m"):
            raise OptionError(f"--breaks key {key!r} is not r, f or m")
        if len(edges) != bins - 1:
            raise OptionError(f"--breaks {key}= needs {bins - 1} values for {bins} bins, got {len(edges)}")
        # Repeated values are allowed: a score no customer can take (as spread coarse data gives).
        if sorted(edges) != list(edges):
            raise OptionError(f"--breaks {key}= must be increasing (repeats allowed), got {edges}")


def _parse_as_of(text: str) -> Date:
    try:
        return Date.fromisoformat(text.strip())
    except ValueError:
        raise OptionError(f"--as-of must be a date like 2024-01-31, got {text!r}") from None


def _holdout_end(holdout_end: Date | str | None, cutoff: Date | None) -> Date | None:
    if holdout_end is None:
        return None
    if cutoff is None:
        raise OptionError("--holdout-end needs --as-of: the holdout period runs from --as-of to --holdout-end")
    until = _parse_as_of(holdout_end) if isinstance(holdout_end, str) else holdout_end
    if until <= cutoff:
        raise OptionError(f"--holdout-end {until} must come after --as-of {cutoff}")
    return until


def _holdout_query(window: pl.LazyFrame, id: str, date: str, amount: str, frequency: str,
                   order: str | None = None) -> pl.LazyFrame:
    """Purchases and net spend per customer in the holdout period."""
    buy = pl.col(amount) >= 0
    count = pl.col(date).filter(buy).n_unique() if frequency == "days" else buy.sum()
    if order:
        count = pl.col(order).filter(buy).n_unique()
    return window.group_by(id).agg(
        frequency_holdout=count,
        monetary_holdout=(pl.col(amount) * MICRO).round().cast(pl.Int64, strict=False).sum(),
    )


def _check_query(lf: pl.LazyFrame, id: str, date: str, amount: str, cutoff: Date | None,
                 order: str | None = None) -> pl.LazyFrame:
    """Nulls, negative amounts, the last date and rows after the cutoff, in one row."""
    known = pl.col(id).is_not_null()
    future = (known & (pl.col(date) > cutoff)).sum() if cutoff is not None else pl.lit(0, dtype=pl.UInt32)
    return lf.select(
        null_ids=pl.col(id).null_count(),
        null_dates=pl.col(date).null_count(),
        null_amounts=pl.col(amount).null_count(),
        null_orders=pl.col(order).null_count() if order else pl.lit(0, dtype=pl.UInt32),
        negatives=(known & (pl.col(amount) < 0)).sum(),
        nan_amounts=(~pl.col(amount).is_finite()).sum(),
        last=pl.col(date).filter(known).max(),
        after_as_of=future,
    )


def _folded_check(per_customer: pl.DataFrame, id: str) -> dict[str, Any] | None:
    """The check query's row from aggregates over every input row, or None if a row is faulty.

    Faulty rows (no date, no or no finite amount, no order) are only counted
    here: the check query then runs to tell the faults apart.
    """
    known = pl.col(id).is_not_null()
    # Day numbers (--btyd) put faulty rows under the null id: those rows are then
    # told apart by the check query.
    faulty = pl.col("_faulty").sum() if "_faulty" in per_customer.columns else pl.col("_rows").filter(~known).sum()
    row = per_customer.select(
        faulty=faulty,
        null_ids=pl.col("_rows").filter(~known).sum(),
        # Every row with a finite amount is a purchase or a return.
        negatives=(pl.col("_rows") - pl.col("_buys")).filter(known).sum(),
        last=pl.col("_seen").filter(known).max(),
    ).row(0, named=True)
    if row.pop("faulty"):
        return None
    return {**row, "null_dates": 0, "null_amounts": 0, "null_orders": 0, "nan_amounts": 0, "after_as_of": 0}


def _id_group_rows(per_customer: pl.DataFrame, id: str) -> int:
    """Rows aggregated under the null id."""
    return int(per_customer.filter(pl.col(id).is_null())["_rows"].sum())


#: A day number holds the day (offset by ``2 ** 20``, dates within 2,870 years
#: of 1970) in its low bits and an id within ``2 ** 42`` of zero above them.
_DAY_BITS = 21


def _day_number(id: str, date: str) -> pl.Expr:
    """One Int64 per integer customer id and day; null for an id or a date out of range (or null),
    and for a row without a finite amount (``_micro`` null)."""
    key = pl.col(id).cast(pl.Int64, strict=False)
    day = pl.col(date).cast(pl.Int32).cast(pl.Int64)
    half = 1 << (_DAY_BITS - 1)
    fits = key.is_between(-(1 << 42), (1 << 42) - 1) & day.is_between(-half, half - 1) & pl.col("_micro").is_not_null()
    return pl.when(fits).then(key * (1 << _DAY_BITS) + day + half)


def _faulty(date: str, order: str | None) -> pl.Expr:
    """A row the checks reject: no date, no or no finite amount (``_micro`` is null), no order."""
    bad = pl.col(date).is_null() | pl.col("_micro").is_null()
    return bad | pl.col(order).is_null() if order else bad


def _checked(row: dict[str, Any], lf: pl.LazyFrame, id: str, date: str, amount: str, *, strict: bool,
             returns: str, order: str | None = None) -> tuple[dict[str, int], Date | None]:
    """Raise for what the check query found (its row); name the first offending row."""
    warn_missing({amount: row["null_amounts"]})
    if row["null_ids"] and strict:
        at, _ = first_offender(lf, pl.col(id).is_null(), id)  # type: ignore[misc]
        raise DataError(f"column {id!r} is empty in row {at}; drop those rows or leave out --strict")
    for col, key in ((date, "null_dates"), (amount, "null_amounts"), (order, "null_orders")):
        if row[key]:
            at, _ = first_offender(lf, pl.col(col).is_null(), col)  # type: ignore[misc]
            raise DataError(f"column {col!r} is empty in {row[key]:,} rows, first in row {at}; fill or drop them")
    if row["nan_amounts"]:
        at, value = first_offender(lf, ~pl.col(amount).is_finite(), amount)  # type: ignore[misc]
        raise DataError(f"column {amount!r} is not a finite number ({value}) in row {at}; fill or drop those rows")
    if row["negatives"] and returns == "error":
        at, value = first_offender(lf, pl.col(amount) < 0, amount)  # type: ignore[misc]
        raise DataError(
            f"column {amount!r} is negative ({value}) in row {at}, and --returns error forbids returns; "
            "use --returns net or --returns drop"
        )
    stats = {"null_ids": int(row["null_ids"]), "returns": int(row["negatives"]),
             "after_as_of": int(row["after_as_of"])}
    return stats, row["last"]


def _aggregate_queries(lf: pl.LazyFrame, id: str, date: str, amount: str, frequency: str,
                       btyd: bool, order: str | None = None, checks: bool = False,
                       numbered: bool = False) -> list[pl.LazyFrame]:
    """Per-customer aggregates (the null id is a group of its own, dropped later).

    With *checks*, also what :func:`_folded_check` reads: the last date of
    any row (``_seen``) and, but with *numbered*, the number of faulty rows (``_faulty``).
    With *numbered* (*btyd*, integer ids), days are grouped by :func:`_day_number`;
    faulty rows and rows out of its range then go to the null id, which the caller checks.
    """
    buy = pl.col(amount) >= 0
    # Money is summed as whole micro-units: integer sums are exact, so the
    # result does not depend on the order in which threads add rows up.
    # Non-strict: an infinite amount becomes null here and is reported by the checks.
    lf = lf.with_columns(_micro=(pl.col(amount) * MICRO).round().cast(pl.Int64, strict=False))
    if not btyd:
        # One group-by over precomputed columns (the purchase date is null on
        # returns): plain max/len/sum aggregations are polars' fast path,
        # filtered aggregations are not.
        lf = lf.with_columns(_buy=buy, _bought=pl.when(buy).then(pl.col(date)))
        aggs = {"_last": pl.col("_bought").max(), "monetary": pl.col("_micro").sum(), "_rows": pl.len(),
                "_buys": pl.col("_buy").sum()}
        if frequency == "days":
            aggs["frequency"] = pl.col("_bought").drop_nulls().n_unique()
        if order:
            aggs["frequency"] = pl.when(pl.col("_buy")).then(pl.col(order)).drop_nulls().n_unique()
        if checks:
            lf = lf.with_columns(_faulty=_faulty(date, order))
            aggs.update(_seen=pl.col(date).max(), _faulty=pl.col("_faulty").sum())
        return [lf.group_by(id).agg(**aggs)]
    # Daily periods first: lifetimes sums each customer's day, then counts days.
    day_aggs = {"_day_total": pl.col("_micro").sum(), "_day_buys": buy.sum(), "_rows": pl.len()}
    if numbered:
        # A group-by on one Int64 column takes a third less time than on two columns.
        kind = lf.collect_schema()[id]
        days = lf.with_columns(_day=_day_number(id, date)).group_by("_day").agg(**day_aggs).select(
            (pl.col("_day") // (1 << _DAY_BITS)).cast(kind).alias(id),
            (pl.col("_day") % (1 << _DAY_BITS) - (1 << (_DAY_BITS - 1))).cast(pl.Int32).cast(pl.Date).alias(date),
            *day_aggs)
    else:
        days = lf.group_by(id, date).agg(**day_aggs)
    # A period is a day with a purchase. Its date and total are put in columns
    # of their own (null / 0 on other days) so that the per-customer step is
    # plain min/max/sum/min_by aggregations, polars' fast path; filtered
    # aggregations took twice the time of the whole rest (issue 12).
    is_period = pl.col("_day_buys") > 0
    days = days.with_columns(
        _period_date=pl.when(is_period).then(pl.col(date)),
        _period_total=pl.when(is_period).then(pl.col("_day_total")).otherwise(0),
        _is_period=is_period,
    )
    aggs = {
        "_last": pl.col("_period_date").max(),
        "_first": pl.col("_period_date").min(),
        "monetary": pl.col("_day_total").sum(),
        "_rows": pl.col("_rows").sum(),
        "_periods": pl.col("_is_period").sum(),
        "_period_sum": pl.col("_period_total").sum(),
        # Days are unique per customer, so the first period's total is the one at the least period date.
        "_first_value": pl.col("_period_total").min_by("_period_date").fill_null(0),
        "_buys": pl.col("_day_buys").sum(),
    }
    if frequency == "days":
        aggs["frequency"] = pl.col("_is_period").sum()
    if checks:
        aggs["_seen"] = pl.col(date).max()
    return [days.group_by(id).agg(**aggs)]


def _combine(parts: list[pl.DataFrame], id: str, as_of: Date, btyd: bool) -> pl.DataFrame:
    if not btyd:
        out = parts[0].lazy().with_columns(monetary=pl.col("monetary") / MICRO)
    else:
        repeat = pl.col("_periods") - 1
        out = parts[0].lazy().with_columns(
            monetary=pl.col("monetary") / MICRO,
            frequency_btyd=repeat.cast(pl.Int64),
            recency_btyd=(pl.col("_last") - pl.col("_first")).dt.total_days(),
            T=(pl.lit(as_of) - pl.col("_first")).dt.total_days(),
            monetary_value=pl.when(repeat > 0)
            .then((pl.col("_period_sum") - pl.col("_first_value")) / MICRO / repeat)
            .otherwise(0.0),
        )
    # Frequency counts purchases unless it was aggregated otherwise (days, orders).
    frequency = pl.col("frequency") if "frequency" in parts[0].columns else pl.col("_buys")
    return out.filter(pl.col(id).is_not_null()).with_columns(
        recency=(pl.lit(as_of) - pl.col("_last")).dt.total_days(),
        frequency=frequency.cast(pl.UInt32),
    ).collect()


def _counts(per_customer: pl.DataFrame) -> dict[str, int]:
    row = per_customer.select(
        transactions=pl.col("_rows").sum(),
        no_purchase_customers=(pl.col("frequency") == 0).sum(),
        customers=(pl.col("frequency") > 0).sum(),
    ).row(0, named=True)
    return {k: int(v or 0) for k, v in row.items()}


def _breaks(table: pl.DataFrame, bins: int, breaks: dict[str, list[float]] | None) -> dict[str, list[float]]:
    """The breakpoints used per metric: given, or tie-respecting quantiles of *table*."""
    return metric_breaks(lambda col, negate: binning.balanced_breaks(-table[col] if negate else table[col], bins,
                                                                    spread=True), breaks)


def metric_breaks(find: Callable[[str, bool], list[float]],
                  breaks: dict[str, list[float]] | None) -> dict[str, list[float]]:
    """The breakpoints per metric: given in *breaks*, else ``find(column, negate)`` (spread quantiles).

    Recency is binned on its negation (``negate``) so that "higher value,
    higher score" holds for all three and ties are treated the same way;
    its breaks are reported in days.
    """
    breaks = breaks or {}
    used = {"r": list(breaks["r"]) if "r" in breaks else sorted(-b for b in find("recency", True))}
    for key, col in (("f", "frequency"), ("m", "monetary")):
        used[key] = list(breaks[key]) if key in breaks else find(col, False)
    return used


def segment_rules(segments: list[SegmentRule] | None | str, bins: int) -> list[SegmentRule] | None:
    """The segment table in force, checked against *bins* (None: no names)."""
    if segments is None:
        return None
    rules = default_segments() if segments == "default" else segments
    check_fits(rules, bins)  # type: ignore[arg-type]
    return rules  # type: ignore[return-value]


def score_plan(plan: pl.LazyFrame, used: dict[str, list[float]], rules: list[SegmentRule] | None) -> pl.LazyFrame:
    """Per-customer metrics plus scores, cell, sum and segment: row-wise, so Spark runs it batch by batch."""
    neg = sorted(-b for b in used["r"])
    plan = plan.with_columns(
        binning.score_expr(-pl.col("recency"), neg).alias("r_score"),
        binning.score_expr("frequency", used["f"]).alias("f_score"),
        binning.score_expr("monetary", used["m"]).alias("m_score"),
    )
    # The text columns are looked up by cell number in a table of every
    # possible cell: made row by row they took ten times the rest of the scoring.
    cells = _cells(rules)
    number = (pl.col("r_score").cast(pl.Int32) * _SIDE + pl.col("f_score")) * _SIDE + pl.col("m_score")
    plan = plan.with_columns(
        rfm_cell=pl.lit(cells["rfm_cell"]).gather(number),
        rfm_score=(pl.col("r_score").cast(pl.Int16) + pl.col("f_score") + pl.col("m_score")).cast(pl.Int16),
    )
    return plan if rules is None else plan.with_columns(segment=pl.lit(cells["segment"]).gather(number))


#: Scores run from 1 to at most 10: cell number ``(r * _SIDE + f) * _SIDE + m``.
_SIDE = 11


def _cells(rules: list[SegmentRule] | None) -> pl.DataFrame:
    """Every cell by number: its text (``"545"``) and, with *rules*, its segment.

    >>> _cells(None).row(1 * 121 + 10 * 11 + 3)
    (1, 10, 3, '1103')
    """
    grid = pl.int_range(_SIDE ** 3, dtype=pl.Int32, eager=True)
    cells = pl.DataFrame({"r_score": grid // _SIDE ** 2, "f_score": grid // _SIDE % _SIDE,
                          "m_score": grid % _SIDE}).cast(pl.Int8)
    cells = cells.with_columns(rfm_cell=pl.concat_str([pl.col("r_score"), pl.col("f_score"), pl.col("m_score")]))
    return cells if rules is None else cells.with_columns(segment=segment_expr(rules))


def _thresholds(table: pl.DataFrame) -> pl.DataFrame:
    parts = []
    for key, col in (("r", "recency"), ("f", "frequency"), ("m", "monetary")):
        part = binning.describe_bins(table[col], table[f"{key}_score"]).with_columns(metric=pl.lit(col))
        parts.append(part)
    return pl.concat(parts).select("metric", "score", "n", "share", "min", "max")
