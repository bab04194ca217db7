"""A plain-polars implementation of the lifecycle rules, independent of segment.synth_truth.

Used by the synth tests twice: on the truth file's latent levels it must
reproduce ``true_stage`` exactly (the truth says what it claims to say), and
on the noisy panel it plays a simple correct detector, whose agreement with
the truth shows that the truth is recoverable. The rules are the ones stated
in ``docs/synth.md`` (window of min(3, h-1) months against the min(3, h-w)
months before it, h = observed months so far).
"""

from __future__ import annotations

import polars as pl

WINDOW, BASELINE, DROP, EXIT_AFTER, WINBACK = 3, 3, 0.30, 3, 3


def _fell(col: str) -> pl.Expr:
    h = pl.col("_h")
    win_n = pl.min_horizontal(pl.lit(WINDOW), h - 1)
    base_n = pl.min_horizontal(pl.lit(BASELINE), h - win_n)
    lag = [pl.col(col).shift(k).over("customer_id").fill_null(0.0) for k in range(WINDOW + BASELINE)]
    win = pl.sum_horizontal([pl.when(pl.lit(k) < win_n).then(lag[k]).otherwise(0.0) for k in range(WINDOW + BASELINE)])
    base = pl.sum_horizontal([
        pl.when((pl.lit(k) >= win_n) & (pl.lit(k) < win_n + base_n)).then(lag[k]).otherwise(0.0)
        for k in range(WINDOW + BASELINE)
    ])
    return (win_n >= 1) & (base_n >= 1) & (base > 0) & (win / win_n <= (1 - DROP) * (base / base_n))


def stages(panel: pl.DataFrame, *, voice: str = "voice_min", data: str = "data_mb",
           revenue: str = "revenue") -> pl.DataFrame:
    """Stage, decline subtype and exit subtype per row of a gap-free, sorted panel."""
    df = panel.sort("customer_id", "month").with_columns(
        _i=pl.int_range(pl.len()).over("customer_id"),
        _tenure=(pl.col("month").dt.year() - pl.col("activation").dt.year()) * 12
        + pl.col("month").dt.month() - pl.col("activation").dt.month() + 1,
        _quiet=(pl.col(voice) == 0) & (pl.col(data) == 0) & (pl.col(revenue) == 0),
    )
    # Win-back: usage again after 1-3 months without; the history h starts again there.
    before = pl.when(~pl.col("_quiet")).then(pl.col("_i")).forward_fill().shift(1).over("customer_id")
    df = df.with_columns(_gap=pl.col("_i") - before - 1)
    df = df.with_columns(_back=~pl.col("_quiet") & pl.col("_gap").is_between(1, WINBACK).fill_null(False))
    df = df.with_columns(_h=pl.col("_i") - pl.when(pl.col("_back") | (pl.col("_i") == 0)).then(pl.col("_i"))
                         .forward_fill().over("customer_id") + 1)
    silent = pl.col("_h") >= EXIT_AFTER
    for k in range(EXIT_AFTER):
        silent = silent & pl.col("_quiet").shift(k).over("customer_id").fill_null(False)
    df = df.with_columns(
        _exit=(pl.col("status") == "cancelled") | silent,
        _fv=_fell(voice), _fd=_fell(data), _fr=_fell(revenue),
    )
    decline = ~pl.col("_exit") & (pl.col("_fv") | pl.col("_fd") | pl.col("_fr"))
    df = df.with_columns(
        stage=pl.when(pl.col("_exit")).then(pl.lit("exit"))
        .when(decline).then(pl.lit("decline"))
        .when(pl.col("_tenure") <= 3).then(pl.lit("acquisition"))
        .when(pl.col("_tenure") <= 6).then(pl.lit("build-up"))
        .otherwise(pl.lit("maturity")),
        winback=pl.col("_back") & ~pl.col("_exit"),
        decline_subtype=pl.when(~decline).then(None)
        .when(pl.col("_fv") & pl.col("_fd")).then(pl.lit("double-drop"))
        .when(pl.col("_fv")).then(pl.lit(f"single-drop:{voice}"))
        .when(pl.col("_fd")).then(pl.lit(f"single-drop:{data}"))
        .otherwise(pl.lit("revenue-drop")),
    )
    # Re-entry: the same identity active under another id in a later month.
    active = df.filter(pl.col("status") == "active").group_by("identity", "customer_id").agg(
        _last_active=pl.col("month").max())
    exits = df.filter(pl.col("stage") == "exit").select("customer_id", "month", "identity")
    later = (exits.join(active, on="identity", suffix="_other")
             .filter((pl.col("customer_id_other") != pl.col("customer_id"))
                     & (pl.col("_last_active") > pl.col("month")))
             .select("customer_id", "month").unique().with_columns(_reentry=pl.lit(True)))
    # Number swap: another line of the identity first used after this line's first use and by its last.
    use = df.filter(~pl.col("_quiet")).group_by("identity", "customer_id").agg(
        _first=pl.col("month").min(), _last=pl.col("month").max())
    swaps = (use.join(use, on="identity", suffix="_other")
             .filter((pl.col("customer_id_other") != pl.col("customer_id"))
                     & (pl.col("_first_other") > pl.col("_first")) & (pl.col("_first_other") <= pl.col("_last")))
             .select("customer_id").unique().with_columns(_swap=pl.lit(True)))
    df = df.join(later, on=["customer_id", "month"], how="left").join(swaps, on="customer_id", how="left")
    df = df.with_columns(
        exit_subtype=pl.when(pl.col("stage") != "exit").then(None)
        .when(pl.col("_swap").fill_null(False)).then(pl.lit("exit_swap"))
        .when(pl.col("_reentry").fill_null(False)).then(pl.lit("re-entry")).otherwise(pl.lit("churn")))
    return df.select("customer_id", "month", "stage", "decline_subtype", "exit_subtype", "winback")


def agreement(truth: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Per true stage: rows, share found with the same stage (recall) and precision."""
    j = truth.join(found, on=["customer_id", "month"])
    recall = j.group_by("true_stage").agg(rows=pl.len(), recall=(pl.col("stage") == pl.col("true_stage")).mean())
    precision = j.group_by("stage").agg(precision=(pl.col("stage") == pl.col("true_stage")).mean())
    return recall.join(precision, left_on="true_stage", right_on="stage", how="left").sort("true_stage")


def confusion(truth: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Rows: true stage; columns: found stage; cells: customer-months."""
    j = truth.join(found, on=["customer_id", "month"])
    return j.pivot(on="stage", index="true_stage", values="customer_id", aggregate_function="len").sort("true_stage")
