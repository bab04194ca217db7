"""Items of a long table: one row per customer and item (transaction style).

Every distinct item value is an item; a customer holds it when some row
pairs them (repeated rows count once). The target is an item value too:
customers holding it are the target customers, every other customer is not.

Examples
--------
>>> import polars as pl
>>> tx = pl.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "c"],
...                    "item": ["fibre", "churned", "fibre", "dsl", "tv", "churned"]})
>>> m, t = long_items(tx, "churned", id="customer_id", item="item", min_count=1)
>>> m.labels, m.pos_counts.tolist(), m.neg_counts.tolist(), t.negative_label
(['dsl', 'fibre', 'tv'], [1, 1, 1], [0, 1, 0], 'not churned')
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import polars as pl

from segment.columns import first_offender
from segment.errors import ColumnNotFoundError, DataError
from segment.rules._bits import ItemBuilder, ItemMatrix, masks_by_code
from segment.rules._target import Target, cleaned


def long_items(frame: pl.DataFrame, target: str, *, id: str, item: str, min_count: int,
               items: Sequence[str] | None = None,
               exclude: Sequence[str] | None = None) -> tuple[ItemMatrix, Target]:
    """Items of a (customer id, item) table; *target* is the item value marking target customers."""
    names = frame.columns
    for role, col in (("id", id), ("item", item)):
        if col not in names:
            raise ColumnNotFoundError(col, names, role=role)
    pairs = frame.select(pl.col(id), cleaned(frame[item].cast(pl.String)))
    for col in (id, item):
        bad = first_offender(pairs.lazy(), pl.col(col).is_null(), col)
        if bad is not None:
            raise DataError(f"column {col!r} is empty in row {bad[0]}; fill or drop those rows")
    pairs = pairs.unique(maintain_order=True)
    holders = pairs.filter(pl.col(item) == target)[id]
    if holders.len() == 0:
        known = pairs[item].unique().sort().to_list()
        close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"target item {target!r} does not occur in column {item!r}{hint}")
    customers = (pairs.select(pl.col(id).unique(maintain_order=True))
                 .with_columns(_pos=pl.col(id).is_in(holders.implode()))
                 .sort("_pos", descending=True, maintain_order=True)
                 .with_row_index("_row"))
    n, n_pos = customers.height, int(customers["_pos"].sum())
    if n_pos == n:
        raise DataError(f"every customer holds the target item {target!r}; "
                        "rules need customers with and without the target")
    chosen = pairs.filter(pl.col(item) != target)
    if items:
        chosen = chosen.filter(pl.col(item).is_in(list(items)))
    if exclude:
        chosen = chosen.filter(~pl.col(item).is_in(list(exclude)))
    rows = chosen.join(customers, on=id, how="left")
    counts = rows.group_by(item).agg(pos=pl.col("_pos").sum(), all=pl.len()).sort(item)
    builder = ItemBuilder(n_pos, n, min_count)
    kept = [v for v, _, a in counts.iter_rows() if builder.keep(a)]
    rows = rows.filter(pl.col(item).is_in(kept))
    codes = rows[item].cast(pl.Enum(kept)).to_physical().cast(pl.Int64).to_numpy()
    masks = masks_by_code(rows["_row"].to_numpy(), codes, n, list(range(len(kept))))
    for value, bits in zip(kept, masks, strict=True):
        builder.add(value, item, bits)
    if not kept:
        builder.empty.append(item)
    return builder.finish(), Target(item, target, target, f"not {target}")
