"""A monthly panel from transactions, for retailers and other non-telecom sources.

Telecom extracts come as monthly usage; a shop has order lines. Per
customer and calendar month this counts **orders** (distinct order ids among
purchase lines, or purchase lines when there is no order id) and sums
**revenue** (purchases net of returns, floored at zero: a month whose returns
outweigh its purchases is a month without spending, not negative usage).
Months without a purchase have no row; ``segment lifecycle`` reads them as
zero usage.

Orders play the part of voice minutes (the activity count whose fall
signals that the customer buys less often) and revenue the part of ARPU
(a fall with steady orders means smaller baskets): see ``docs/lifecycle.md``.

Examples
--------
>>> import polars as pl
>>> tx = pl.DataFrame({"customer_id": ["a", "a", "a", "a", "b"],
...                    "date": ["2024-01-03", "2024-01-03", "2024-01-20", "2024-03-02", "2024-02-11"],
...                    "order": ["o1", "o1", "o2", "o3", "o4"], "amount": [10.0, 5.0, 20.0, -4.0, 7.5]})
>>> import warnings
>>> with warnings.catch_warnings():  # a month of returns only; March holds 2 of its 31 days
...     warnings.simplefilter("ignore")
...     out = monthly_panel(tx, order="order")
>>> out
shape: (3, 4)
┌─────────────┬────────────┬────────┬─────────┐
│ customer_id ┆ month      ┆ orders ┆ revenue │
│ ---         ┆ ---        ┆ ---    ┆ ---     │
│ str         ┆ date       ┆ u32    ┆ f64     │
╞═════════════╪════════════╪════════╪═════════╡
│ a           ┆ 2024-01-01 ┆ 2      ┆ 35.0    │
│ a           ┆ 2024-03-01 ┆ 0      ┆ 0.0     │
│ b           ┆ 2024-02-01 ┆ 1      ┆ 7.5     │
└─────────────┴────────────┴────────┴─────────┘
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import polars as pl

from segment.columns import transaction_columns, warn_missing
from segment.errors import DataError, EmptyInputError, SegmentWarning


def monthly_panel(
    transactions: pl.LazyFrame | pl.DataFrame,
    *,
    id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    quantity: str | None = None,
    order: str | None = None,
    date_format: str | None = None,
) -> pl.DataFrame:
    """Orders and revenue per customer and month (see module docstring).

    Parameters
    ----------
    id, date, amount
        Column names; negative amounts are returns.
    quantity
        Optional quantity column; the amount becomes ``amount * quantity``.
    order
        Optional order (invoice) id column; orders are its distinct values
        among purchase lines. Without it every purchase line is an order.
    date_format
        strftime format of text dates.

    Returns
    -------
    pl.DataFrame
        ``id``, ``month`` (first day), ``orders``, ``revenue``; sorted.
        Rows with an empty customer id are left out with a warning.
    """
    lf = transaction_columns(transactions, id=id, date=date, amount=amount, quantity=quantity, order=order,
                             date_format=date_format)
    value = pl.col(amount)  # times quantity already
    nulls = lf.select(ids=pl.col(id).null_count(), dates=pl.col(date).null_count(),
                      amounts=value.null_count(), n=pl.len()).collect().row(0, named=True)
    warn_missing({amount: nulls["amounts"]})
    if nulls["dates"] or nulls["amounts"]:
        what = date if nulls["dates"] else amount
        raise DataError(f"column {what!r} is empty in {max(nulls['dates'], nulls['amounts']):,} rows; "
                        "fill or drop them")
    if nulls["ids"]:
        warnings.warn(f"left out {nulls['ids']:,} rows with an empty {id!r}", SegmentWarning, stacklevel=2)
        lf = lf.filter(pl.col(id).is_not_null())
        if nulls["ids"] == nulls["n"]:
            raise EmptyInputError(f"every row has an empty {id!r}")
    _warn_partial_month(lf, date)
    buy = value >= 0
    orders = pl.col(order).filter(buy).n_unique() if order else buy.sum()
    out = (lf.with_columns(month=pl.col(date).dt.truncate("1mo"))
           .group_by(id, "month")
           .agg(orders=orders.cast(pl.UInt32), revenue=value.sum())
           .sort(id, "month")
           .collect())
    floored = out.filter(pl.col("revenue") < 0).height
    if floored:
        warnings.warn(f"{floored:,} customer-months had more returns than purchases; their revenue is set to 0",
                      SegmentWarning, stacklevel=2)
    # Sums of price x quantity carry binary noise (334.40000000000003).
    return out.with_columns(pl.col("revenue").clip(lower_bound=0).round(6))


def _warn_partial_month(lf: pl.LazyFrame, date: str) -> None:
    """A last month with only a few days of data looks like a fall in every customer's usage."""
    last = lf.select(pl.col(date).max()).collect().item()
    if last is None:
        return
    end = last.replace(day=28) + timedelta(days=4)
    days = (end - timedelta(days=end.day)).day
    if last.day < days - 3:
        month = f"{last.year:04d}-{last.month:02d}"
        before = f"{last.year - (last.month == 1):04d}-{(last.month - 2) % 12 + 1:02d}"
        warnings.warn(f"the last month ({month}) has transactions up to {last} only ({last.day} of {days} days); "
                      f"a partial month reads as a fall in usage: analyse with --as-of {before}",
                      SegmentWarning, stacklevel=3)
