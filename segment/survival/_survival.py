"""Survival curves per segment from a customer snapshot or a monthly usage panel.

A snapshot gives each customer's ``duration`` (whole months of tenure
completed) and ``event`` (churned: 1/yes/true, or still a customer:
0/no/false, censored). A panel gives the lines' months; durations and events
come from the lifecycle rules (:func:`segment.lifecycle.durations`: a line
lives from its activation or first usage to its last usage before it exits).

For each group (the ``by`` column's values, or ``all``) the result holds the
Kaplan-Meier curve with its 95% band and the hazard by tenure month
(:mod:`segment.stats.survival`), a summary (median lifetime, the share still
there after 3, 6, 12 and 24 months), the log-rank test across groups and for
every pair (adjusted as one family with the project's corrections), and, from
a panel, the churn rate by calendar month (seasonal peaks).

Examples
--------
>>> import polars as pl
>>> snap = pl.DataFrame({"tenure": [1, 2, 2, 5, 8, 3, 9, 12, 12, 4],
...                      "churn": ["yes", "yes", "no", "yes", "no", "no", "yes", "no", "no", "yes"],
...                      "plan": ["m2m"] * 5 + ["year"] * 5})
>>> res = survival(snap, duration="tenure", event="churn", by="plan")
>>> res.summary.select("group", "lines", "events", "median_lifetime").rows()
[('m2m', 5, 3, 5), ('year', 5, 2, 9)]
>>> res.curves.columns
['group', 'time', 'at_risk', 'events', 'censored', 'survival', 'lower', 'upper', 'hazard']
>>> round(res.logrank.pvalue, 3)
0.177
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from segment.columns import count_missing, require_columns, require_durations, require_events, warn_missing
from segment.errors import EmptyInputError, OptionError
from segment.lifecycle import STAGES
from segment.stats.survival import LogRank, kaplan_meier, logrank, median_lifetime, pairwise_logrank, survival_at

#: Months after which the summary gives the share of lines still there.
DEFAULT_TIMES = (3, 6, 12, 24)
#: The group of every line when there is no ``by`` column.
ALL = "all"
_MAX_GROUPS = 200
_G = "__group__"


@dataclass
class SurvivalResult:
    """What :func:`survival` returns.

    Attributes
    ----------
    curves : pl.DataFrame
        One row per group and month of tenure: ``group``, ``time``,
        ``at_risk``, ``events``, ``censored``, ``survival``, ``lower``,
        ``upper`` (95% band), ``hazard`` (events / at_risk).
    summary : pl.DataFrame
        One row per group: ``lines``, ``events``, ``median_lifetime`` (months;
        null when survival never falls to one half), ``survival_<t>`` for each
        of the summary months (null past the longest duration seen).
    logrank : LogRank or None
        The test that every group has the same survival (None for one group).
    pairs : pl.DataFrame or None
        Log-rank per pair of groups (``group_a``, ``group_b``, ``statistic``,
        ``p_value``, ``p_adjusted``); None for one group.
    calendar : pl.DataFrame or None
        From a panel: per group and calendar ``month``, ``at_risk`` (lines
        alive that month), ``events`` (lines whose last month it was, before
        they left) and ``hazard``.
    lines : pl.DataFrame
        The durations used, one row per line: ``group``, ``duration``,
        ``event`` (and ``entry``, ``cohort``, ``end`` from a panel).
    stats : dict
        Counts: rows read, lines used, lines left out, events, groups.
    """

    curves: pl.DataFrame
    summary: pl.DataFrame
    logrank: LogRank | None
    pairs: pl.DataFrame | None
    calendar: pl.DataFrame | None
    lines: pl.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


def survival(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    duration: str | None = None,
    event: str | None = None,
    by: str | None = None,
    panel: Mapping[str, Any] | None = None,
    since: str | None = None,
    event_kind: str = "churn",
    times: Sequence[int] = DEFAULT_TIMES,
    correction: str = "holm",
    calendar: bool = False,
    level: float = 0.95,
) -> SurvivalResult:
    """Kaplan-Meier survival per group, with log-rank tests.

    Parameters
    ----------
    frame
        A customer snapshot (one row per customer) or, with *panel*, a monthly
        usage panel (one row per line and month).
    duration, event
        Snapshot columns: whole periods completed (integers >= 0) and whether
        the customer left (0/1, true/false, yes/no).
    by
        Column whose values are the groups (default: one group, ``all``). In
        a panel, a line's group is its value in its first month; with
        *since*, ``by="stage"`` groups lines by their lifecycle stage then.
    panel
        :func:`segment.lifecycle.lifecycle`'s keywords (``id``, ``month``,
        ``voice`` ...): derive durations and events from the panel.
    since
        Panel: count lifetimes from this month (``YYYY-MM``), for the lines
        not yet exited then.
    event_kind
        Panel: ``churn`` (re-entries and number swaps are censored) or ``exit``.
    times
        Months after which :attr:`SurvivalResult.summary` gives survival.
    correction
        Adjustment of the pairwise p-values (``holm``, ``bh``, ``bonferroni``, ``none``).
    calendar
        Panel: also the churn rate by calendar month.
    level
        Confidence level of the bands.

    Raises
    ------
    ColumnNotFoundError, ColumnTypeError, DataError, EmptyInputError, OptionError
    """
    if any(int(t) != t or t < 0 for t in times):
        raise OptionError(f"--at must be whole months of 0 or more, e.g. 3,6,12,24; got {list(times)}")
    if not 0 < level < 1:
        raise OptionError(f"the confidence level must be between 0 and 1, got {level!r}")
    lf = frame.lazy()
    if panel is None:
        for name, value in (("--since", since), ("--calendar", calendar or None)):
            if value:
                raise OptionError(f"{name} needs a monthly panel (usage columns such as --voice), "
                                  "not --duration and --event")
        lines, rows = _from_snapshot(lf, duration, event, by)
    else:
        if duration or event:
            raise OptionError("give either --duration and --event (a customer snapshot) or usage columns "
                              "(a monthly panel), not both")
        lines, rows = _from_panel(lf, panel, by, since, event_kind)
    if lines.height == 0:
        raise EmptyInputError("no customers to follow: the input has no rows with a duration"
                              if panel is None else "no line has any usage in the panel")
    names = sorted(lines[_G].unique().to_list())
    if by == "stage" and since is not None:  # lifecycle order, not alphabetical
        names = [s for s in STAGES if s in names]
    if len(names) > _MAX_GROUPS:
        raise OptionError(f"--by {by!r} has {len(names):,} distinct values; survival curves compare at most "
                          f"{_MAX_GROUPS} groups: choose a segment column")
    code = lines[_G].replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()
    dur = lines["duration"].to_numpy()
    ev = lines["event"].to_numpy()
    entry = lines["entry"].to_numpy() if "entry" in lines.columns and lines["entry"].max() else None
    curves, summary = [], []
    for i, name in enumerate(names):
        mine = code == i
        curve = kaplan_meier(dur[mine], ev[mine], None if entry is None else entry[mine], level=level)
        curves.append(curve.select(pl.lit(name).alias("group"), pl.all()))
        row = {"group": name, "lines": int(mine.sum()), "events": int(ev[mine].sum()),
               "median_lifetime": median_lifetime(curve)}
        row.update({f"survival_{t}": s for t, s in zip(times, survival_at(curve, list(times)), strict=True)})
        summary.append(row)
    test = logrank(dur, ev, code, entry) if len(names) > 1 else None
    pairs = pairwise_logrank(dur, ev, code, names, entry, correction=correction) if len(names) > 1 else None
    table = pl.DataFrame(summary, schema={"group": pl.String, "lines": pl.Int64, "events": pl.Int64,
                                          "median_lifetime": pl.Int64, **{f"survival_{t}": pl.Float64 for t in times}})
    cal = _calendar(lines, since) if calendar else None
    params = {"duration": duration, "event": event, "by": by, "since": since, "times": list(times),
              "correction": correction, "level": level, "band": "log-log (Greenwood)",
              "source": "snapshot" if panel is None else "panel",
              **({"event_kind": event_kind} if panel is not None else {}),
              **({"logrank": {"statistic": test.statistic, "df": test.df, "p_value": test.pvalue}} if test else {})}
    stats = {"rows": rows, "lines": lines.height, "left_out": rows - lines.height if panel is None else 0,
             "events": int(ev.sum()), "groups": len(names)}
    return SurvivalResult(curves=pl.concat(curves), summary=table, logrank=test, pairs=pairs, calendar=cal,
                          lines=lines.rename({_G: "group"}), params=params, stats=stats)


def _from_snapshot(lf: pl.LazyFrame, duration: str | None, event: str | None,
                   by: str | None) -> tuple[pl.DataFrame, int]:
    if not duration or not event:
        raise OptionError("give --duration and --event (a customer snapshot: tenure and churn columns), "
                          "or usage columns such as --voice (a monthly panel)")
    require_columns(lf, {"duration": duration, "event": event, **({"by": by} if by else {})})
    cols = list(dict.fromkeys([duration, event, *([by] if by else [])]))
    lf = require_events(require_durations(lf.select(cols), duration, allow_null=True), event, allow_null=True)
    group = pl.col(by).cast(pl.String) if by else pl.lit(ALL)
    df = lf.select(group.alias(_G), pl.col(duration).alias("duration"), pl.col(event).alias("event")).collect()
    rows = df.height
    counts = count_missing(df, ["duration", "event", *([_G] if by else [])])
    names = {"duration": duration, "event": event, _G: by}
    warn_missing({names[k]: v for k, v in counts.items()}, then="those rows are left out", stacklevel=3)
    return df.drop_nulls(), rows


def _drop_missing_groups(df: pl.DataFrame, by: str) -> pl.DataFrame:
    warn_missing({by: df[_G].null_count()}, then="those rows are left out", stacklevel=4)
    return df.filter(pl.col(_G).is_not_null())


def _from_panel(lf: pl.LazyFrame, panel: Mapping[str, Any], by: str | None, since: str | None,
                event_kind: str) -> tuple[pl.DataFrame, int]:
    from segment.lifecycle import durations

    options = dict(panel)
    id, month = options.get("id", "customer_id"), options.get("month", "month")
    stage_groups = by == "stage" and since is not None
    if by == "stage" and since is None and by not in lf.collect_schema().names():
        raise OptionError("--by stage groups lines by their lifecycle stage in the --since month: add --since YYYY-MM")
    if by and not stage_groups:
        require_columns(lf, {"by": by})
    table = durations(lf, since=since, event=event_kind, **options)
    rows = table.height
    if stage_groups:
        group = table["stage"].cast(pl.String)
    elif by:
        # The group a line started in: later values could follow from the churn itself (a plan change before leaving).
        first = (lf.select(pl.col(id), pl.col(month), pl.col(by).cast(pl.String).alias(_G)).sort(month)
                 .group_by(id).agg(pl.col(_G).first()).collect())
        group = table.select(id).join(first, on=id, how="left", maintain_order="left")[_G]
    else:
        group = pl.Series([ALL] * table.height, dtype=pl.String)
    df = table.with_columns(group.alias(_G)).select(_G, id, "cohort", "end", "duration", "event", "entry")
    if by:
        df = _drop_missing_groups(df, by)
    return df, rows


def _calendar(lines: pl.DataFrame, since: str | None) -> pl.DataFrame:
    """Per group and calendar month: lines alive, lines whose last month it was before they left, and the rate."""
    start = pl.col("cohort") if since is None else pl.col("end").dt.offset_by(
        pl.format("-{}mo", (pl.col("duration") - 1).clip(0)))
    spans = lines.select(_G, start.alias("from"), "end", "event", "duration")
    if since is not None:
        spans = spans.filter(pl.col("duration") > 0)
    months = spans.with_columns(month=pl.date_ranges("from", "end", interval="1mo")).explode("month")
    return (months.group_by(_G, "month")
            .agg(at_risk=pl.len(), events=(pl.col("event") & (pl.col("month") == pl.col("end"))).sum())
            .with_columns(events=pl.col("events").cast(pl.Int64), at_risk=pl.col("at_risk").cast(pl.Int64))
            .with_columns(hazard=pl.col("events") / pl.col("at_risk"))
            .sort(_G, "month").rename({_G: "group"}))
