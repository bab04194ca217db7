"""The measured effect of a retention campaign: treated against control, overall and by group.

The call list says who was in which group (``treat`` / ``control``, from
``segment sample`` or ``segment churn score --control``); the outcomes say who
churned afterwards (and optionally what value each customer kept). Both groups
were drawn from the same customers, so the difference in churn is the effect
of the action (intent to treat: a treated customer the team did not reach still
counts as treated).

Examples
--------
>>> import polars as pl
>>> calls = pl.DataFrame({"customer_id": [f"C{i}" for i in range(8)],
...                       "group": ["treat"] * 5 + ["control"] * 3})
>>> outcomes = pl.DataFrame({"customer_id": [f"C{i}" for i in range(8)],
...                          "churned": [0, 0, 1, 0, 0, 1, 1, 0]})
>>> r = effect(calls, outcomes, id="customer_id", outcome="churned", detect=None)
>>> r.table.select("level", "n_treat", "n_control", "churn_treat", "churn_control", "save_rate").rows()
[('all', 5, 3, 0.2, 0.6666666666666666, 0.7)]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.columns import count_missing, flag_values, require_numeric, warn_missing
from segment.errors import ColumnNotFoundError, DataError, OptionError, SegmentWarning, shown
from segment.stats.proportions import detectable_drop, needed_per_group, power, two_proportions, welch
from segment.stats.sampling import CONTROL, TREAT

_OUT = "__outcome"
_VALUE = "__value"


@dataclass
class EffectResult:
    """What :func:`effect` found.

    Attributes
    ----------
    table : pl.DataFrame
        One row for all customers (``by = "all"``) and one per level of each
        ``by`` column: group sizes, churn rates, the difference with its
        interval, the test, the save rate with its interval, and with a value
        column the value kept per customer (Welch) and the campaign's net value.
    stats : dict
        Counts: treated, control, not in either group, outcome ids not in the
        call list, call-list customers without an outcome.
    """

    table: pl.DataFrame
    stats: dict[str, Any]
    alpha: float
    power: float
    detect: float | None
    offer_cost: float
    params_: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return dict(self.params_)

    def overall(self) -> dict[str, Any]:
        return self.table.row(0, named=True)

    def power_line(self) -> str:
        """How large a drop in churn these group sizes can detect."""
        row = self.overall()
        n_t, n_c, rate = row["n_treat"], row["n_control"], row["churn_control"]
        mde = row["detectable_drop"]
        if rate is None:
            return f"with {n_t:,} treated and {n_c:,} in control, the power to detect a drop cannot be computed"
        if mde is None or np.isnan(mde):
            return f"with {n_t:,} treated and {n_c:,} in control, no drop in churn from {rate:.1%} is detectable"
        return (f"with {n_t:,} treated and {n_c:,} in control, a {100 * mde:.1f}-point drop in churn "
                f"(from {rate:.1%}) is detectable with {self.power:.0%} power (two-sided, alpha {self.alpha:g})")


def effect(call_list: pl.DataFrame | pl.LazyFrame, outcomes: pl.DataFrame | pl.LazyFrame, *, id: str,
           outcome: str = "churned", value: str | None = None, group: str = "group",
           by: Sequence[str] | None = None, alpha: float = 0.05, power_target: float = 0.8,
           detect: float | None = 0.03, offer_cost: float = 0.0) -> EffectResult:
    """Churn (and value kept) among the treated against the control group.

    Parameters
    ----------
    call_list
        One row per customer, with *group* = ``treat`` / ``control`` (rows
        with another value or null were not in the campaign and are left out).
    outcomes
        One row per customer with the *outcome* flag (yes/no, true/false, 1/0)
        and optionally the *value* column. Ids not in the call list are
        counted and left out.
    by
        Columns (of the call list, else of the outcomes) to break the effect
        down by, e.g. ``decile`` or ``lever``.
    detect
        The drop in churn (absolute, 0.03 = 3 points) the campaign should be
        able to detect; a warning says when the groups are too small for it.
    offer_cost
        Cost per treated customer, taken off the value kept in ``net_value``.
    """
    calls = call_list.collect() if isinstance(call_list, pl.LazyFrame) else call_list
    outs = outcomes.collect() if isinstance(outcomes, pl.LazyFrame) else outcomes
    _check(calls, outs, id=id, outcome=outcome, value=value, group=group, alpha=alpha, power_target=power_target,
           detect=detect, offer_cost=offer_cost)
    by = list(by or [])
    for col in by:
        if col not in calls.columns and col not in outs.columns:
            raise ColumnNotFoundError(col, calls.columns, role="--by")
    if outs[id].dtype != calls[id].dtype:
        calls, outs = (f.with_columns(pl.col(id).cast(pl.String)) for f in (calls, outs))

    labels = calls[group].cast(pl.String).str.strip_chars().str.to_lowercase()
    labels = pl.select(pl.when(labels != "").then(labels)).to_series()  # a quoted "" is no group, as a blank
    odd = labels.filter(labels.is_not_null() & ~labels.is_in([TREAT, CONTROL]))
    if odd.len():
        raise DataError(f"column {shown(group)} holds {odd[0]!r}; a call list's groups are {TREAT!r} and {CONTROL!r}")
    calls = calls.with_columns(labels.alias(group))
    stats: dict[str, Any] = {"not_in_campaign": int(labels.is_null().sum())}
    warn_missing(count_missing(calls, [c for c in by if c in calls.columns]),
                 then="those customers form a level of their own")
    if not (labels == CONTROL).any():
        raise DataError(f"the call list has no {CONTROL!r} customers in {shown(group)}: without a control group "
                        "the effect cannot be measured; hold one out before the campaign "
                        "(segment sample CALL_LIST --control 10%)")
    if not (labels == TREAT).any():
        raise DataError(f"the call list has no {TREAT!r} customers in {shown(group)}")

    extra = [c for c in by if c not in calls.columns]
    o = outs.select(id, *extra).with_columns(flag_values(outs, outcome, role="--outcome").alias(_OUT))
    value_from = None if value is None else (outs if value in outs.columns else calls)
    if value_from is outs:
        o = o.with_columns(require_numeric(outs.lazy(), value, option="--value").collect()[value].alias(_VALUE))
    stats["outcome_ids_not_in_call_list"] = int((~o[id].is_in(calls[id].implode())).sum())
    if stats["outcome_ids_not_in_call_list"]:
        warnings.warn(f"{stats['outcome_ids_not_in_call_list']:,} outcome ids are not in the call list; left out",
                      SegmentWarning, stacklevel=2)
    campaign = calls.filter(pl.col(group).is_not_null())
    if value_from is calls:
        campaign = require_numeric(campaign.lazy(), value, option="--value").collect() \
            .with_columns(pl.col(value).alias(_VALUE))
    joined = campaign.join(o, on=id, how="left")
    missing = int(joined[_OUT].is_null().sum())
    stats["without_outcome"] = missing
    if missing:
        warnings.warn(f"{missing:,} customers of the campaign have no outcome (not in the outcomes, or "
                      f"{shown(outcome)} missing); left out", SegmentWarning, stacklevel=2)
    joined = joined.filter(pl.col(_OUT).is_not_null())
    if value is not None:
        gaps = int(joined[_VALUE].is_null().sum())
        if gaps:
            warnings.warn(f"{gaps:,} missing in {shown(value)}; those customers are left out of the value "
                          "comparison", SegmentWarning, stacklevel=2)
    stats["treat"] = int((joined[group] == TREAT).sum())
    stats["control"] = int((joined[group] == CONTROL).sum())
    for label in (TREAT, CONTROL):
        if not stats[label]:
            raise DataError(f"no {label!r} customer of the call list has an outcome in {shown(outcome)}: check "
                            "that the outcomes are for this campaign's customers (same --id)")

    parts = [_summaries(joined.with_columns(pl.lit("all").alias("__level")), group, "all")]
    for col in by:
        parts.append(_summaries(joined.with_columns(pl.col(col).alias("__level")), group, col))
    sums = pl.concat(parts)
    table = _compare(sums, alpha=alpha, power_target=power_target, value=value is not None, offer_cost=offer_cost)
    result = EffectResult(table=table, stats=stats, alpha=alpha, power=power_target, detect=detect,
                          offer_cost=offer_cost,
                          params_={"id": id, "outcome": outcome, "value": value, "group": group, "by": by,
                                   "alpha": alpha, "power": power_target, "detect": detect,
                                   "offer_cost": offer_cost})
    row = result.overall()
    if detect is not None and row["churn_control"] is not None:
        got = power(row["churn_control"], detect, row["n_treat"], row["n_control"], alpha)
        if got < power_target:
            need = needed_per_group(row["churn_control"], detect, alpha, power_target)
            warnings.warn(f"the control group is too small to detect a {100 * detect:g}-point drop in churn "
                          f"(from {row['churn_control']:.1%}): power {got:.0%} with {row['n_treat']:,} treated and "
                          f"{row['n_control']:,} in control; {need:,} per group would give {power_target:.0%}",
                          SegmentWarning, stacklevel=2)
    return result


def _check(calls: pl.DataFrame, outs: pl.DataFrame, *, id: str, outcome: str, value: str | None, group: str,
           alpha: float, power_target: float, detect: float | None, offer_cost: float) -> None:
    if not 0 < alpha < 1:
        raise OptionError(f"--alpha must be between 0 and 1, got {alpha}")
    if not 0 < power_target < 1:
        raise OptionError(f"--power must be between 0 and 1, got {power_target}")
    if detect is not None and not 0 < detect < 1:
        raise OptionError(f"--detect is a drop in the churn rate between 0 and 1 (0.03 = 3 points), got {detect}")
    if offer_cost < 0:
        raise OptionError(f"--offer-cost must be zero or positive, got {offer_cost}")
    for frame, what in ((calls, "call list"), (outs, "outcomes")):
        if id not in frame.columns:
            raise ColumnNotFoundError(id, frame.columns, role=f"--id ({what})")
        dup = frame.filter(pl.col(id).is_duplicated()).head(1)
        if dup.height:
            raise DataError(f"customer {dup[id][0]!r} appears twice in the {what} ({shown(id)}); "
                            "one row per customer is needed")
    if group not in calls.columns:
        raise DataError(f"the call list has no {shown(group)} column, so there is no control group to compare "
                        "with; hold one out before the campaign (segment sample CALL_LIST --control 10%)")
    if outcome not in outs.columns:
        raise ColumnNotFoundError(outcome, outs.columns, role="--outcome")
    if value is not None:
        if value not in outs.columns and value not in calls.columns:
            raise ColumnNotFoundError(value, outs.columns, role="--value")


def _summaries(frame: pl.DataFrame, group: str, by: str) -> pl.DataFrame:
    """Per level and group: customers, churners, and the value's count, mean and variance."""
    has_value = _VALUE in frame.columns
    aggs = [pl.len().alias("n"), pl.col(_OUT).sum().cast(pl.Int64).alias("x")]
    if has_value:
        aggs += [pl.col(_VALUE).count().alias("vn"), pl.col(_VALUE).mean().alias("vmean"),
                 pl.col(_VALUE).var(ddof=1).alias("vvar")]
    g = frame.group_by("__level", group).agg(aggs)
    t = g.filter(pl.col(group) == TREAT).drop(group)
    c = g.filter(pl.col(group) == CONTROL).drop(group)
    levels = frame.select(pl.col("__level").unique(maintain_order=True)).sort("__level", nulls_last=True)
    out = levels.join(t, on="__level", how="left", nulls_equal=True) \
        .join(c, on="__level", how="left", suffix="_c", nulls_equal=True) \
        .with_columns(pl.col("__level").cast(pl.String))
    return out.with_columns(pl.lit(by).alias("by")).fill_null(strategy="zero") if not has_value else \
        out.with_columns(pl.lit(by).alias("by"), pl.col("n", "x", "n_c", "x_c", "vn", "vn_c").fill_null(0))


def _compare(s: pl.DataFrame, *, alpha: float, power_target: float, value: bool, offer_cost: float) -> pl.DataFrame:
    n_t, x_t, n_c, x_c = (s[c].cast(pl.Float64).to_numpy() for c in ("n", "x", "n_c", "x_c"))
    r = two_proportions(x_t, n_t, x_c, n_c, alpha)
    mde = np.array([detectable_drop(pc, nt, nc, alpha, power_target) if nc > 0 and nt > 0 else np.nan
                    for pc, nt, nc in zip(r.rate_c, n_t, n_c, strict=True)])
    cols: dict[str, Any] = {
        "by": s["by"], "level": s["__level"],
        "n_treat": pl.Series(n_t, dtype=pl.Int64), "n_control": pl.Series(n_c, dtype=pl.Int64),
        "churned_treat": pl.Series(x_t, dtype=pl.Int64), "churned_control": pl.Series(x_c, dtype=pl.Int64),
        "churn_treat": r.rate_t, "churn_control": r.rate_c,
        "churn_diff": r.diff, "diff_low": r.diff_low, "diff_high": r.diff_high,
        "test": pl.Series(r.test.tolist(), dtype=pl.String), "p_value": r.p_value, "p_z": r.p_z,
        "p_fisher": r.p_fisher,
        "save_rate": r.save_rate, "save_low": r.save_low, "save_high": r.save_high,
        "detectable_drop": mde,
    }
    if value:
        vn_t, vn_c = s["vn"].cast(pl.Float64).to_numpy(), s["vn_c"].cast(pl.Float64).to_numpy()
        m_t, m_c = s["vmean"].cast(pl.Float64).to_numpy(), s["vmean_c"].cast(pl.Float64).to_numpy()
        w = welch(m_t, s["vvar"].cast(pl.Float64).to_numpy(), vn_t, m_c, s["vvar_c"].cast(pl.Float64).to_numpy(),
                  vn_c, alpha)
        cols.update({
            "value_treat": m_t, "value_control": m_c, "value_diff": w.diff, "value_low": w.low,
            "value_high": w.high, "p_value_welch": w.p_value,
            # Every treated customer got the offer: the campaign's gain is the value kept per treated
            # customer over the control's, times the treated, less what the offers cost.
            "net_value": (w.diff - offer_cost) * n_t, "net_low": (w.low - offer_cost) * n_t,
            "net_high": (w.high - offer_cost) * n_t,
        })
    return pl.DataFrame(cols).with_columns(pl.selectors.float().fill_nan(None))
