"""A retention campaign's outcomes with a planted save rate (``segment synth --campaign CALL_LIST``).

For each customer of a call list with groups (``segment sample``): would the
customer have churned without the action (drawn from the risk column, by
default the calibrated ``p_churn`` of ``segment churn score``), was the customer
contacted (the ``treat`` group), was a would-be churner saved (with
probability *save_rate* when contacted), and so did the customer churn. The
value kept is the customer's value over the campaign window, zero after a
churn. ``segment churn effect`` should find *save_rate* again.

Draws follow the customers sorted by id, so the outcomes depend on the seed
and the set of customers, not on the row order.

Examples
--------
>>> import polars as pl
>>> calls = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "p_churn": [0.9, 0.5, 0.1, 0.0],
...                       "group": ["treat", "control", "treat", None]})
>>> out = campaign_outcomes(calls, save_rate=1.0, seed=0)
>>> out.columns
['customer_id', 'group', 'contacted', 'would_churn', 'saved', 'churned', 'value_kept']
>>> out.filter(pl.col("contacted"))["churned"].to_list()  # every would-be churner contacted is saved
[False, False]
"""

from __future__ import annotations

import numpy as np
import polars as pl

from segment.columns import require_numeric
from segment.errors import ColumnNotFoundError, DataError, OptionError, shown

#: Mean and spread (log scale) of the value a kept customer brings over the campaign window.
VALUE_MEAN, VALUE_SIGMA = 240.0, 0.6


def campaign_outcomes(call_list: pl.DataFrame | pl.LazyFrame, *, id: str | None = None, group: str = "group",
             risk: str = "p_churn", save_rate: float = 0.3, seed: int = 0) -> pl.DataFrame:
    """Campaign outcomes for *call_list* with a planted *save_rate* (see module docstring).

    *id* defaults to the call list's first column. Rows whose *group* is
    neither ``treat`` nor ``control`` were not in the campaign: they are not
    contacted and churn as they would have.
    """
    df = call_list.collect() if isinstance(call_list, pl.LazyFrame) else call_list
    id = id or df.columns[0]
    for col, role in ((id, "id"), (group, "group"), (risk, "risk")):
        if col not in df.columns:
            raise ColumnNotFoundError(col, df.columns, role=f"--campaign {role}")
    if not 0 <= save_rate <= 1:
        raise OptionError(f"--save-rate must be between 0 and 1, got {save_rate}")
    p = require_numeric(df.lazy().select(risk), risk).collect()[risk]
    if p.null_count() or ((p < 0) | (p > 1)).any():
        raise DataError(f"column {shown(risk)} must hold probabilities between 0 and 1 for every customer")
    order = df[id].arg_sort()
    rng = np.random.default_rng([seed, 2])
    n = df.height
    u_churn, u_save, u_value = (np.empty(n) for _ in range(3))
    for target in (u_churn, u_save):
        target[order.to_numpy()] = rng.random(n)
    u_value[order.to_numpy()] = rng.standard_normal(n)
    contacted = (df[group].cast(pl.String).str.to_lowercase() == "treat").fill_null(False).to_numpy()
    would = u_churn < p.to_numpy()
    saved = contacted & would & (u_save < save_rate)
    churned = would & ~saved
    value = VALUE_MEAN * np.exp(VALUE_SIGMA * u_value - VALUE_SIGMA**2 / 2)
    return pl.DataFrame({
        id: df[id], "group": df[group].cast(pl.String), "contacted": contacted, "would_churn": would,
        "saved": saved, "churned": churned, "value_kept": np.round(np.where(churned, 0.0, value), 2),
    })

