"""Is a segmentation real? Tests, effect sizes, merges and a verdict.

The field's two classic mistakes are *arbitrary* segmentation (splitting by a
variable on a hunch, without checking that segments differ on the outcomes
that matter) and *over-fine* segmentation (micro-segments nobody can act
on). :func:`validate_segment` takes any segment column and the outcomes it
should explain and returns:

* per outcome, the omnibus test (chi-square for binary / categorical
  outcomes, Kruskal-Wallis, ANOVA or Welch for numeric ones), its p-value
  adjusted across outcomes, an effect size with a conventional label
  (:mod:`segment.stats.tests`);
* pairwise post-hoc tests, adjusted within each outcome;
* per-segment rates / medians / means, with bootstrap intervals on request
  (:mod:`segment.validate._profiles`);
* a merge map of too-small and indistinguishable segments
  (:mod:`segment.validate._merging`);
* optionally, replication on a held-out part of the rows
  (:mod:`segment.validate._replication`);
* the verdict:

  ``arbitrary``
      no outcome differs between segments both significantly (after the
      correction across outcomes) and by a non-negligible effect;
  ``over-fine``
      some outcome differs, but segments are too small or indistinguishable:
      merges are suggested;
  ``valid``
      at least one outcome differs significantly with a non-negligible
      effect, every segment is big enough, and no merge is suggested.

  With ``holdout`` an outcome only counts as differing if the difference
  replicates on the held-out rows.

Examples
--------
>>> import polars as pl
>>> df = pl.DataFrame({"plan": ["a"] * 60 + ["b"] * 60 + ["c"] * 60,
...                    "churn": [1] * 48 + [0] * 12 + [1] * 6 + [0] * 54 + [1] * 27 + [0] * 33})
>>> res = validate_segment(df, segment="plan", outcomes=["churn"])
>>> res.verdict
'valid'
>>> res.outcomes.select("outcome", "test", "effect_label", "verdict").row(0)
('churn', 'chi-square', 'large', 'differs')
>>> res.merge_map["merged_segment"].to_list()
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.errors import DataError, OptionError
from segment.validate._merging import MergeResult, merge_map
from segment.stats.multitest import METHODS, adjust
from segment.stats.pvalue import format_p
from segment.validate._outcomes import Outcome, Prepared, left_out_names, outcome_stats, prepare
from segment.validate._profiles import count_summaries, numeric_summaries
from segment.validate._replication import holdout_mask, order_agreement
from segment.stats.tests import CONVENTIONS, NUMERIC_TESTS, OmnibusResult, omnibus, pairwise, welch_problem

Progress = Callable[[str, int, int | None], None]
EFFECT_NAMES = {"cramers_v": "Cramer's V", "epsilon_squared": "epsilon-squared", "eta_squared": "eta-squared"}


@dataclass
class ValidationResult:
    """What :func:`validate_segment` returns.

    Attributes
    ----------
    verdict : str
        ``valid``, ``over-fine`` or ``arbitrary`` (see module docstring).
    reasons : list of str
        The evidence for the verdict, one sentence each, most important first.
    outcomes : pl.DataFrame
        One row per outcome: test, statistic, df, p, p_adjusted, effect size
        and label, verdict, and the replication columns.
    pairs : pl.DataFrame
        One row per outcome and pair of segments: values, test, p,
        p_adjusted (within the outcome), significant.
    merge_map : pl.DataFrame
        One row per segment: ``segment -> merged_segment``, size, share,
        whether it is too small, action (``keep``, ``merge``, or ``left out``
        for a segment without a value of any outcome) and reason.
    merges : list of dict
        The merge steps in order.
    profile : pl.DataFrame
        One row per outcome, segment (and level): rate / share / median /
        mean with bootstrap interval.
    stats : dict
        Row and segment counts: read, used, without segment, segments tested,
        segments left out (no value of any outcome) and their rows.
    params : dict
        The resolved parameters, outcome kinds and effect-size conventions.
    """

    verdict: str
    reasons: list[str]
    outcomes: pl.DataFrame
    pairs: pl.DataFrame
    merge_map: pl.DataFrame
    merges: list[dict]
    profile: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, max_pairs: int = 100_000) -> dict[str, Any]:
        """Everything, JSON-ready (NaN becomes None).

        More than *max_pairs* pairwise rows are left out (``pairs`` is None
        and ``pairs_left_out`` says how many): write them with ``--pairs``.
        """
        many = self.pairs.height > max_pairs
        return _clean({
            "verdict": self.verdict, "reasons": self.reasons, "params": self.params, "stats": self.stats,
            "outcomes": self.outcomes.to_dicts(), "merge_map": self.merge_map.to_dicts(),
            "merges": self.merges, "profile": self.profile.to_dicts(),
            "pairs": None if many else self.pairs.to_dicts(), "pairs_left_out": self.pairs.height if many else 0,
        })


def validate_segment(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    segment: str,
    outcomes: Sequence[str],
    outcome_types: Mapping[str, str] | None = None,
    numeric_test: str = "kruskal",
    alpha: float = 0.05,
    correction: str = "holm",
    min_size: int = 30,
    min_share: float = 0.01,
    holdout: float = 0.0,
    bootstrap: int = 0,
    mc_samples: int = 10_000,
    max_segments: int = 1000,
    id: str | None = None,
    strict: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
) -> ValidationResult:
    """Test whether segments differ on outcomes, suggest merges, give a verdict.

    Parameters
    ----------
    frame
        One row per customer (or unit): the segment label and the outcomes.
    segment
        Column holding the segment label (any type; nulls are left out).
    outcomes
        Columns the segmentation should explain (churn, ARPU, MOU ...).
    outcome_types
        Force the kind of some outcomes: ``{"plan_code": "categorical"}``;
        kinds are ``binary``, ``categorical``, ``numeric``.
    numeric_test
        ``kruskal`` (Kruskal-Wallis + Dunn; default, no normality needed),
        ``anova`` (F test + Student t) or ``welch`` (Welch F + Welch t).
    alpha
        Significance level for tests, merges and replication.
    correction
        ``holm``, ``bh``, ``bonferroni`` or ``none``: across outcomes for the omnibus
        tests, across pairs within an outcome for the post-hoc tests.
    min_size, min_share
        Segments with fewer rows, or a smaller share of rows, are too small
        to act on: flagged and merged into their nearest segment.
    holdout
        Fraction of each segment's rows held out for replication (0 = off).
    bootstrap
        Resamples for percentile intervals of segment summaries (0 = none).
    mc_samples
        Monte-Carlo tables for chi-square tests with small expected counts.
    max_segments
        Refuse more distinct segments than this (an id column by mistake?).
    id
        Optional customer key; duplicates are an error.
    strict
        Rows without a segment are an error instead of being left out.
    seed
        Seeds the holdout split, Monte-Carlo tables and bootstrap.
    progress
        ``progress(task, done, total)`` callback for long steps.
    """
    _check_options(numeric_test, alpha, correction, min_size, min_share, holdout, bootstrap, mc_samples, seed)
    prep = prepare(frame, segment=segment, outcomes=outcomes, outcome_types=outcome_types, id=id,
                   strict=strict, max_segments=max_segments)
    split_rng, mc_rng, boot_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    stats = []
    for done, spec in enumerate(prep.outcomes, start=1):
        stats.append(outcome_stats(prep.data, spec, prep.k))
        if numeric_test == "welch" and spec.kind == "numeric":
            _check_welch(stats[-1], spec, prep)
        if progress:
            progress("group statistics", done, len(prep.outcomes))
    tests = [omnibus(s, numeric_test, rng=mc_rng, mc_samples=mc_samples) for s in stats]
    p_adjusted = adjust([t.p for t in tests], correction)
    merges = merge_map(stats, prep.sizes, prep.labels, alpha=alpha, min_size=min_size, min_share=min_share,
                       numeric_test=numeric_test, outcome_names=[o.name for o in prep.outcomes], progress=progress)
    profile_rows = _profiles(prep, stats, numeric_test, bootstrap, 1 - alpha, boot_rng, progress)
    replication = (_replicate(prep, tests, p_adjusted, holdout, numeric_test, alpha, correction, split_rng,
                              mc_rng, mc_samples) if holdout else None)
    table = _outcome_table(prep.outcomes, tests, p_adjusted, alpha, replication)
    verdict, reasons = _verdict(table, merges, prep, alpha, min_size, min_share)
    merge_table = _with_left_out(merges.table, prep)
    params = {
        "segment": segment, "numeric_test": numeric_test, "alpha": alpha, "correction": correction,
        "min_size": min_size, "min_share": min_share, "holdout": holdout, "bootstrap": bootstrap,
        "mc_samples": mc_samples, "max_segments": max_segments, "seed": seed,
        "outcomes": {o.name: o.describe() for o in prep.outcomes},
        "effect_conventions": CONVENTIONS,
        "merge_rule": "groups tested through their segments (homogeneity test) on the outcomes both have values "
                      "on; pair p = min over those outcomes x their number; pairs without one are not compared; "
                      "merged while p x pairs compared > alpha",
    }
    run_stats = {"rows": prep.rows, "rows_used": int(prep.sizes.sum()), "rows_without_segment": prep.null_segments,
                 "segments": prep.k, "segments_left_out": prep.left_out.height,
                 "rows_in_segments_left_out": int(prep.left_out["n"].sum()), "small_segments": len(merges.small),
                 "rows_held_out": replication["holdout_rows"] if replication else 0}
    return ValidationResult(verdict, reasons, table, _pairs_table(prep, stats, numeric_test, correction, alpha),
                            merge_table, merges.steps, _profile_frame(prep, profile_rows), run_stats, params)


def _check_options(numeric_test: str, alpha: float, correction: str, min_size: int, min_share: float,
                   holdout: float, bootstrap: int, mc_samples: int, seed: int) -> None:
    if numeric_test not in NUMERIC_TESTS:
        raise OptionError(f"--numeric-test must be one of {', '.join(NUMERIC_TESTS)}, got {numeric_test!r}")
    if correction not in METHODS:
        raise OptionError(f"--correction must be one of {', '.join(METHODS)}, got {correction!r}")
    if not 0 < alpha < 1:
        raise OptionError(f"--alpha must be between 0 and 1, got {alpha}")
    if min_size < 0:
        raise OptionError(f"--min-size must be 0 or more, got {min_size}")
    if not 0 <= min_share < 1:
        raise OptionError(f"--min-share must be a fraction from 0 to below 1 (0.01 = 1%), got {min_share}")
    if not 0 <= holdout < 1:
        raise OptionError(f"--holdout must be a fraction from 0 (off) to below 1, e.g. 0.5, got {holdout}")
    if bootstrap < 0:
        raise OptionError(f"--bootstrap must be 0 (off) or a number of resamples, got {bootstrap}")
    if mc_samples < 100:
        raise OptionError(f"--mc-samples must be at least 100, got {mc_samples}")
    if seed < 0:
        raise OptionError(f"--seed must be zero or positive, got {seed}")


def _check_welch(stats: Any, spec: Outcome, prep: Prepared) -> None:
    bad = welch_problem(stats)
    if bad is not None:
        raise DataError(
            f"segment {prep.labels[bad]!r} has {int(stats.n[bad])} value(s) of {spec.name!r} without spread: "
            "Welch's test needs two or more different values in every segment; use --numeric-test kruskal")


def _profiles(prep: Prepared, stats: list, numeric_test: str, bootstrap: int, confidence: float,
              rng: np.random.Generator, progress: Progress | None) -> list[dict]:
    rows = []
    for spec, s in zip(prep.outcomes, stats, strict=True):
        if spec.kind == "numeric":
            statistic = "median" if numeric_test == "kruskal" else "mean"
            part = numeric_summaries(prep.data, spec.column, s, statistic=statistic, bootstrap=bootstrap,
                                     confidence=confidence, rng=rng, progress=progress,
                                     task=f"bootstrap {spec.name}")
        else:
            part = count_summaries(s, levels=spec.levels or [], positive_only=spec.kind == "binary",
                                   bootstrap=bootstrap, confidence=confidence, rng=rng)
        rows += [{"outcome": spec.name, **r} for r in part]
    return rows


def _replicate(prep: Prepared, tests: list[OmnibusResult], p_adjusted: np.ndarray, fraction: float,
               numeric_test: str, alpha: float, correction: str, split_rng: np.random.Generator,
               mc_rng: np.random.Generator, mc_samples: int) -> dict[str, Any]:
    mask = holdout_mask(prep.data, fraction, split_rng)
    held, rest = prep.data.filter(mask), prep.data.filter(~mask)
    p_held, tau = [], []
    for spec in prep.outcomes:
        s_held, s_rest = outcome_stats(held, spec, prep.k), outcome_stats(rest, spec, prep.k)
        p_held.append(omnibus(s_held, numeric_test, rng=mc_rng, mc_samples=mc_samples).p)
        tau.append(order_agreement(s_rest, s_held, positive_only=spec.kind == "binary"))
    p_held_arr, tau_arr = np.array(p_held), np.array(tau)
    # Only differences found on all rows are put to the test again, as one family.
    found = (p_adjusted <= alpha) & np.array([t.effect_label not in (None, "negligible") for t in tests])
    adj = np.full(len(tests), np.nan)
    adj[found] = adjust(p_held_arr[found], correction)
    replicated = np.where(found, (adj <= alpha) & (tau_arr > 0), np.nan)
    return {"p_holdout": p_held_arr, "order_agreement": tau_arr, "replicated": replicated,
            "holdout_rows": int(mask.sum())}


def _outcome_table(specs: list[Outcome], tests: list[OmnibusResult], p_adjusted: np.ndarray, alpha: float,
                   replication: dict | None) -> pl.DataFrame:
    rows = []
    for t, (spec, test, p_adj) in enumerate(zip(specs, tests, p_adjusted, strict=True)):
        significant = bool(p_adj <= alpha)
        meaningful = test.effect_label not in (None, "negligible")
        replicated = None
        if replication is not None and not np.isnan(replication["replicated"][t]):
            replicated = bool(replication["replicated"][t])
        if significant and meaningful:
            verdict = "not replicated" if replicated is False else "differs"
        elif significant:
            verdict = "negligible effect"
        else:
            verdict = "no difference"
        rows.append({
            "outcome": spec.name, "kind": spec.kind, "positive": spec.positive, "test": test.test,
            "p_method": test.p_method, "n": test.n, "segments": test.segments, "statistic": test.statistic,
            "df": test.df, "df2": test.df2, "p": test.p, "p_adjusted": float(p_adj), "effect": test.effect,
            "effect_size": test.effect_size, "effect_label": test.effect_label, "significant": significant,
            "verdict": verdict,
            "p_holdout": None if replication is None else float(replication["p_holdout"][t]),
            "order_agreement": None if replication is None else float(replication["order_agreement"][t]),
            "replicated": replicated,
        })
    schema = {"positive": pl.String, "df2": pl.Float64, "effect_label": pl.String, "p_holdout": pl.Float64,
              "order_agreement": pl.Float64, "replicated": pl.Boolean}
    return pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)


def _pairs_table(prep: Prepared, stats: list, numeric_test: str, correction: str, alpha: float) -> pl.DataFrame:
    i, j = np.triu_indices(prep.k, 1)
    parts = []
    for spec, s in zip(prep.outcomes, stats, strict=True):
        stat, p, method = pairwise(s, i, j, numeric_test)
        keep = (s.n[i] > 0) & (s.n[j] > 0)
        a, b = i[keep], j[keep]
        if spec.kind == "numeric":
            value = s.median if numeric_test == "kruskal" else s.mean
        elif spec.kind == "binary":
            value = s.rates()[:, -1]
        else:
            value = np.full(prep.k, np.nan)  # several levels: see the profile table
        parts.append(pl.DataFrame({
            "outcome": pl.Series([spec.name] * a.size, dtype=pl.String),
            "segment_a": prep.labels.gather(a), "segment_b": prep.labels.gather(b),
            "n_a": pl.Series(s.n[a], dtype=pl.Int64), "n_b": pl.Series(s.n[b], dtype=pl.Int64),
            "value_a": pl.Series(value[a], dtype=pl.Float64), "value_b": pl.Series(value[b], dtype=pl.Float64),
            "difference": pl.Series(value[a] - value[b], dtype=pl.Float64),
            "test": pl.Series(method[keep].astype(str), dtype=pl.String),
            "statistic": pl.Series(stat[keep], dtype=pl.Float64), "p": pl.Series(p[keep], dtype=pl.Float64),
            "p_adjusted": pl.Series(adjust(p[keep], correction), dtype=pl.Float64),
        }).with_columns(significant=pl.col("p_adjusted") <= alpha))
    return pl.concat(parts).with_columns(pl.col("value_a", "value_b", "difference").fill_nan(None))


def _with_left_out(table: pl.DataFrame, prep: Prepared) -> pl.DataFrame:
    """The merge map with a row for each segment left out (no value of any outcome), in label order.

    They keep their label, so that relabelling the data with a join keeps their rows.
    """
    left = prep.left_out
    if left.height == 0:
        return table
    rows = pl.DataFrame({
        "segment": left["segment"], "merged_segment": left["segment"], "n": left["n"],
        "share": pl.Series([None] * left.height, dtype=pl.Float64),
        "small": pl.Series([None] * left.height, dtype=pl.Boolean),
        "action": pl.Series(["left out"] * left.height, dtype=pl.String),
        "reason": pl.Series([f"no value of any outcome in its {n:,} rows: left out of the tests"
                             for n in left["n"]], dtype=pl.String),
    })
    placed = np.ones(table.height + left.height, dtype=bool)
    placed[left["position"].to_numpy()] = False
    order = np.argsort(np.concatenate([np.flatnonzero(placed), np.flatnonzero(~placed)]), kind="stable")
    return pl.concat([table, rows])[order]


def _profile_frame(prep: Prepared, rows: list[dict]) -> pl.DataFrame:
    schema = {"outcome": pl.String, "segment": pl.UInt32, "level": pl.String, "n": pl.Int64,
              "statistic": pl.String, "value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns(segment=prep.labels.gather(frame["segment"]))


def _verdict(table: pl.DataFrame, merges: MergeResult, prep: Prepared, alpha: float, min_size: int,
             min_share: float) -> tuple[str, list[str]]:
    reasons = []
    differs = table.filter(pl.col("verdict") == "differs")
    for row in table.iter_rows(named=True):
        reasons.append(_outcome_sentence(row, alpha))
    if differs.height == 0:
        verdict = "arbitrary"
    elif merges.suggested:
        verdict = "over-fine"
    else:
        verdict = "valid"
    if merges.small:
        names = ", ".join(repr(prep.labels[g]) for g in merges.small[:10])
        more = f" and {len(merges.small) - 10:,} more" if len(merges.small) > 10 else ""
        reasons.append(f"{_count(len(merges.small), 'segment')} below {min_size:,} rows or {min_share:.1%} of rows: "
                       f"{names}{more}")
    similar = [s for s in merges.steps if s["reason"] == "similar"]
    if similar:
        reasons.append(f"{_count(len(similar), 'merge')} of segments that no outcome tells apart "
                       f"(adjusted p > {alpha:g})")
    if prep.left_out.height:
        reasons.append(f"{_count(prep.left_out.height, 'segment')} without a value of any outcome left out of the "
                       f"tests: {left_out_names(prep.left_out)}")
    outcomes = ", ".join(differs["outcome"])
    if verdict == "arbitrary":
        reasons.insert(0, "No outcome differs between the segments both significantly and by a non-negligible "
                          "amount: do not act on this segmentation.")
    elif verdict == "over-fine":
        reasons.insert(0, f"The segments differ on {outcomes}, but {_count(len(merges.steps), 'merge')} "
                          f"{'is' if len(merges.steps) == 1 else 'are'} suggested: see the merge map.")
    else:
        reasons.insert(0, f"The segments differ on {outcomes}; every segment is big enough and distinguishable "
                          "from the others.")
    return verdict, reasons


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _outcome_sentence(row: dict, alpha: float) -> str:
    name, test = row["outcome"], row["test"]
    p = format_p(row["p_adjusted"])
    effect = f"{EFFECT_NAMES[row['effect']]} {row['effect_size']:.3f} ({row['effect_label']})"
    if row["verdict"] == "differs":
        return f"{name!r} differs: {test} adjusted p {p}, {effect}"
    if row["verdict"] == "not replicated":
        return (f"{name!r} differs on all rows ({test} adjusted p {p}, {effect}) but not on the held-out rows "
                f"(p {format_p(row['p_holdout'])}, order agreement {row['order_agreement']:.2f})")
    if row["verdict"] == "negligible effect":
        return f"{name!r} differs significantly (adjusted p {p}) but by a negligible amount: {effect}"
    return f"{name!r} does not differ significantly: {test} adjusted p {p} > {alpha:g}"




def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value or value in (float("inf"), float("-inf")) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return _clean(value.item())
    return value
