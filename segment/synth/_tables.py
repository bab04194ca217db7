"""Assembling a block's numpy arrays into the output tables (see ``docs/synth.md`` for the columns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from segment.synth import _world as w
from segment.synth._lines import ADDONS, AGE_BANDS, CONTRACTS, GENDERS, PAYMENTS, Lines
from segment.synth._observe import Observed
from segment.synth._paths import KINDS, STATUSES, Paths
from segment.synth._truth import DECLINE_SUBTYPES, EXIT, EXIT_SUBTYPES, STAGES
from segment.synth._tx import KINDS as TX_KINDS
from segment.synth._tx import payments

S, F, I32, D = pl.String, pl.Float64, pl.Int32, pl.Date
SCHEMAS: dict[str, dict[str, Any]] = {
    "panel": {"customer_id": S, "month": D, "voice_min": F, "data_mb": F, "sms": I32, "revenue": F,
              "status": S, "plan": S, "channel": S, "identity": S, "complaints": I32, "activation": D},
    # Like the public churn sets: one row per line, no keys or dates that give the churn flag away.
    "customers": {"customer_id": S, "plan": S, "contract": S, **dict.fromkeys(ADDONS, S),
                  "payment_method": S, "channel": S, "gender": S, "age_band": S, "tenure_months": I32,
                  "monthly_charges": F,
                  "total_charges": F, "avg_voice_min": F, "avg_data_mb": F, "avg_sms": F, "arpu": F,
                  "churn": S},
    "transactions": {"customer_id": S, "date": D, "amount": F, "kind": S},
    "truth_panel": {"customer_id": S, "month": D, "true_stage": S, "true_decline_subtype": S,
                    "true_exit_subtype": S, "true_winback": pl.Boolean, "true_tenure": I32, "latent_voice_min": F, "latent_data_mb": F,
                    "latent_revenue": F},
    "truth_customers": {"customer_id": S, "identity": S, "true_cluster": I32, "true_group": S,
                        "true_churn_probability": F, "true_path": S, "true_path_start": D,
                        "true_exit_subtype": S, "reentry_of": S, "reentered_as": S, "swap_of": S, "swapped_as": S},
}




def labels(names: Sequence[str | None], codes: np.ndarray) -> pl.Series:
    """Text labels for integer codes; code -1 gives null.

    >>> labels(["a", "b"], np.array([1, -1, 0])).to_list()
    ['b', None, 'a']
    """
    table = pl.Series([*names, None], dtype=pl.String)
    idx = np.where(codes < 0, len(names), codes).astype(np.int64)
    return table.gather(idx)


def where(values: pl.Series, keep: np.ndarray) -> pl.Series:
    """*values* where *keep*, else null."""
    return pl.select(pl.when(pl.Series(keep)).then(values)).to_series().alias(values.name)


def truth_panel(rows: pl.DataFrame, months: pl.Series, li: np.ndarray, mj: np.ndarray, paths: Paths,
                stage: np.ndarray, sub: np.ndarray, tenure: np.ndarray, winback: np.ndarray,
                exit_kind: np.ndarray) -> pl.DataFrame:
    """*exit_kind*: per line, the code into EXIT_SUBTYPES its exits have."""
    ex = paths.exists
    stage_rows = stage[ex]
    return pl.DataFrame({
        "customer_id": rows["customer_id"],
        "month": months.gather(mj),
        "true_stage": labels(STAGES, stage_rows.astype(np.int64)),
        "true_decline_subtype": labels(DECLINE_SUBTYPES[1:], sub[ex].astype(np.int64) - 1),
        "true_exit_subtype": labels(EXIT_SUBTYPES, np.where(stage_rows == EXIT, exit_kind[li], -1)),
        "true_winback": winback[ex],
        "true_tenure": pl.Series(tenure[ex], dtype=pl.Int32),
        "latent_voice_min": _written(paths.voice[ex]), "latent_data_mb": _written(paths.data[ex]),
        "latent_revenue": _written(paths.revenue[ex]),
    }, schema=SCHEMAS["truth_panel"])


LATENT_DECIMALS = 4


def _written(latent: np.ndarray) -> np.ndarray:
    """Latent levels as written: rounded to 4 decimals.

    numpy's SIMD ``exp``/``log`` kernels (AVX2, AVX-512) differ by CPU in the
    last bits (about 1e-13 here). Observed values are already rounded to
    cents or whole units, so only the latents carried those bits into the
    files; 4 decimals are far finer than any use of a latent level and far
    coarser than the kernels' disagreement.
    """
    return np.round(latent, LATENT_DECIMALS)


def truth_customers(line: pl.DataFrame, months: pl.Series, lines: Lines, paths: Paths, exit_kind: np.ndarray,
                    links: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> pl.DataFrame:
    reentry_of, reentered_as, swap_of, swapped_as = links
    ids = line["customer_id"]
    return pl.DataFrame({
        "customer_id": ids, "identity": line["identity"],
        "true_cluster": pl.Series(lines.group, dtype=pl.Int32),
        "true_group": labels([g.name for g in w.GROUPS], lines.group.astype(np.int64)).fill_null("noise"),
        "true_churn_probability": 1 / (1 + np.exp(-lines.churn_logit)),
        "true_path": labels(KINDS, paths.kind.astype(np.int64)),
        "true_path_start": where(months.gather(np.maximum(paths.start, 0)), paths.start >= 0),
        "true_exit_subtype": labels(EXIT_SUBTYPES, np.where(paths.churn, exit_kind, -1)),
        "reentry_of": where(ids.gather(np.maximum(reentry_of, 0)), reentry_of >= 0),
        "reentered_as": where(ids.gather(np.maximum(reentered_as, 0)), reentered_as >= 0),
        "swap_of": where(ids.gather(np.maximum(swap_of, 0)), swap_of >= 0),
        "swapped_as": where(ids.gather(np.maximum(swapped_as, 0)), swapped_as >= 0),
    }, schema=SCHEMAS["truth_customers"])


def panel(rows: pl.DataFrame, months: pl.Series, li: np.ndarray, mj: np.ndarray, paths: Paths,
           obs: Observed) -> pl.DataFrame:
    ex = paths.exists
    return pl.DataFrame({
        "customer_id": rows["customer_id"],
        "month": months.gather(mj),
        "voice_min": obs.voice[ex],
        "data_mb": obs.data[ex],
        "sms": pl.Series(obs.sms[ex]).fill_nan(None).cast(pl.Int32),
        "revenue": obs.revenue[ex],
        "status": labels(STATUSES, paths.status[ex].astype(np.int64)),
        "plan": rows["plan"],
        "channel": rows["channel"],
        "identity": rows["identity"],
        "complaints": pl.Series(obs.complaints[ex], dtype=pl.Int32),
        "activation": rows["activation"],
    }, schema=SCHEMAS["panel"])


def customers(line: pl.DataFrame, lines: Lines, paths: Paths, obs: Observed) -> pl.DataFrame:
    M = paths.exists.shape[1]
    j = np.arange(M)[None, :]
    tenure = j - lines.activation[:, None] + 1
    rows = paths.exists.sum(axis=1)
    # Usage averages: months active with some usage, leaving out the (partial)
    # activation month unless it is the only one.
    used = paths.exists & (paths.status == 0) & (obs.voice + obs.data > 0)
    typical = used & ~((tenure == 1) & (rows > 1)[:, None])
    typical = np.where(typical.any(axis=1)[:, None], typical, used)

    def mean(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        mask = mask & ~np.isnan(x)
        cnt = mask.sum(axis=1)
        tot = np.where(mask, x, 0.0).sum(axis=1)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)

    fees = np.array([w.PLAN_FEE[p] for p in w.PLANS])[lines.plan]
    fees = fees + lines.addons.astype(np.float64) @ np.array([v[2] for v in w.ADDONS.values()])
    revenue_sum = np.where(paths.exists, obs.revenue, 0.0).sum(axis=1)
    before = np.maximum(-lines.activation, 0)  # months billed before the panel started
    total = np.round(revenue_sum + before * lines.level[:, 3], 2)
    last_tenure = paths.last - lines.activation + 1
    yes_no = pl.Series(["no", "yes"])
    return pl.DataFrame({
        "customer_id": line["customer_id"], "plan": line["plan"],
        "contract": labels(CONTRACTS, lines.contract),
        **{a: yes_no.gather(lines.addons[:, i].astype(np.int64)) for i, a in enumerate(ADDONS)},
        "payment_method": labels(PAYMENTS, lines.payment),
        "channel": line["channel"],
        "gender": labels(GENDERS, lines.gender),
        "age_band": labels(AGE_BANDS, lines.age),
        "tenure_months": pl.Series(last_tenure, dtype=pl.Int32),
        "monthly_charges": np.round(fees, 2),
        # As in billing extracts, a line in its first month has no total yet.
        "total_charges": pl.Series(np.where(last_tenure > 1, total, np.nan)).fill_nan(None),
        "avg_voice_min": np.round(mean(obs.voice, typical), 2),
        "avg_data_mb": np.round(mean(obs.data, typical), 2),
        "avg_sms": np.round(mean(obs.sms, typical), 2),
        "arpu": np.round(mean(obs.revenue, typical), 2),
        "churn": yes_no.gather(paths.churn.astype(np.int64)),
    }, schema=SCHEMAS["customers"])


def transactions(rng: np.random.Generator, rows: pl.DataFrame, months: pl.Series, li: np.ndarray,
                  mj: np.ndarray, lines: Lines, paths: Paths, obs: Observed) -> pl.DataFrame:
    revenue = obs.revenue[paths.exists]
    billed = np.flatnonzero(revenue > 0)
    cents = np.round(revenue[billed] * 100).astype(np.int64)
    row, day, amount, kind = payments(rng, line=billed, cents=cents, days=paths.days[mj[billed]],
                                      prepaid=lines.prepaid[li[billed]])
    dates = months.to_numpy()[mj[row]] + (day - 1).astype("timedelta64[D]")
    return pl.DataFrame({
        "customer_id": rows["customer_id"].gather(row),
        "date": pl.Series(dates),
        "amount": amount / 100,
        "kind": labels(TX_KINDS, kind.astype(np.int64)),
    }, schema=SCHEMAS["transactions"])
