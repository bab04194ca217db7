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
* pairwise post-hoc tests with effect sizes, adjusted as one family over
  all pairs and outcomes;
* per-segment rates / medians / means, with bootstrap intervals on request
  (:mod:`segment.validate._profiles`);
* a merge map of too-small and indistinguishable segments
  (:mod:`segment.validate._merging`) that never merges two segments the
  pairs keep apart (significant, or a non-negligible difference at
  unadjusted alpha), never merges noise, and merges ordered tiers only with
  their neighbours (:mod:`segment.validate._tiers`);
* the segments that stand out from the rest (:mod:`segment.validate._standouts`)
  and the outcomes that are circular (features the segments were made from);
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

  With ``holdout`` everything is found on the rows not held out, and an
  outcome only counts as differing if the difference replicates on the
  held-out rows.

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

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.errors import DataError, OptionError, SegmentWarning
from segment.spark import COUNT, is_spark
from segment.stats.multitest import METHODS, adjust
from segment.stats.pvalue import format_p
from segment.stats.tests import (CONVENTIONS, LABELS, NUMERIC_TESTS, PAIR_CONVENTIONS, OmnibusResult, omnibus,
                                 pair_effects, pairwise, welch_problem)
from segment.validate._merging import RULES, MergeResult, merge_map, size_floor
from segment.validate._outcomes import Outcome, Prepared, left_out_names, outcome_stats, prepare
from segment.validate._profiles import count_summaries, numeric_summaries
from segment.validate._replication import holdout_mask, order_agreement
from segment.validate._standouts import standouts
from segment.validate._tiers import noise_codes, tier_order

Progress = Callable[[str, int, int | None], None]
EFFECT_NAMES = {"cramers_v": "Cramer's V", "epsilon_squared": "epsilon-squared", "eta_squared": "eta-squared",
                "cohens_h": "Cohen's h", "cohens_w": "Cohen's w", "cohens_d": "Cohen's d",
                "cliffs_delta": "Cliff's delta"}


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
    standouts : pl.DataFrame
        One row per outcome and segment: the segment against all other
        rows, its effect size, corrected p and whether it stands out.
    circular : list of str
        Outcomes that were among the features the segments were made from.
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
    standouts: pl.DataFrame = field(default_factory=pl.DataFrame)
    circular: list[str] = field(default_factory=list)
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
            "standouts": self.standouts.to_dicts(),
            "circular": {"outcomes": self.circular, "warning": _circular_sentence(self.circular)} if self.circular
            else None,
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
    merge_rule: str = "pairs",
    ordinal: bool | None = None,
    noise_label: str | int | None = -1,
    standout_effect: str = "medium",
    made_from: Sequence[str] | None = None,
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
        A PySpark DataFrame is counted on its Spark session
        (:mod:`segment.validate._spark`; not with *holdout* or *bootstrap*).
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
        ``holm``, ``bh``, ``bonferroni`` or ``none``: across outcomes for the
        omnibus tests, as one family over all pairs and outcomes for the
        post-hoc tests, across segments and outcomes for the standouts.
    merge_rule
        ``pairs`` (default): a pair is significant when its p-value adjusted
        over all pairs and outcomes is at most *alpha*, and groups are merged
        while their Bonferroni-adjusted homogeneity test is above *alpha*.
        ``chaid``: Kass's unadjusted alpha-merge, for the pairs too. Either
        way no merge joins two segments the pairs call significant, or that
        differ at unadjusted *alpha* by at least a small effect.
    ordinal
        Segments are ordered tiers: only neighbouring levels merge. None
        detects it (an ordered categorical column; labels 1..k; labels such
        as ``1-Highest`` .. ``7-Lowest``).
    noise_label
        The label of noise (hdbscan's ``-1``): never merged nor flagged
        small, reported as its own group. None: no noise.
    standout_effect
        Smallest effect (``small``, ``medium``, ``large``) at which a
        segment that differs significantly from the rest is named.
    made_from
        Columns the segments were made from (a clustering's features): an
        outcome among them is reported as circular.
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
    if merge_rule not in RULES:
        raise OptionError(f"--merge-rule must be one of {', '.join(RULES)}, got {merge_rule!r}")
    if standout_effect not in LABELS[1:]:
        raise OptionError(f"--standout-effect must be one of {', '.join(LABELS[1:])}, got {standout_effect!r}")
    weight, ranked = None, {}
    if is_spark(frame):
        # Spark counts the rows per segment and outcome values; everything after runs on that table.
        from segment.validate._spark import counted

        if holdout or bootstrap:
            raise OptionError("--holdout and --bootstrap resample rows, which stay on the cluster with "
                              "--engine spark; leave them out or use --engine polars")
        frame, ranked = counted(frame, segment=segment, outcomes=outcomes, id=id, outcome_types=outcome_types)
        weight, id = COUNT, None
    prep = prepare(frame, segment=segment, outcomes=outcomes, outcome_types=outcome_types, id=id,
                   strict=strict, max_segments=max_segments, weight=weight)
    split_rng, mc_rng, boot_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    # With a holdout, everything is discovered on the other rows and only replicated on the
    # held-out ones, so that the two checks are independent.
    mask = holdout_mask(prep.data, holdout, split_rng) if holdout else None
    found_on = prep.data if mask is None else prep.data.filter(~mask)
    stats = []
    for done, spec in enumerate(prep.outcomes, start=1):
        # An outcome ranked on the cluster has a stand-in in the counted table; its statistics come from Spark.
        stats.append(ranked[spec.name](prep.labels) if spec.name in ranked else
                     outcome_stats(found_on, spec, prep.k, prep.weight))
        if numeric_test == "welch" and spec.kind == "numeric":
            _check_welch(stats[-1], spec, prep)
        if progress:
            progress("group statistics", done, len(prep.outcomes))
    tests = [omnibus(s, numeric_test, rng=mc_rng, mc_samples=mc_samples) for s in stats]
    p_adjusted = adjust([t.p for t in tests], correction)
    noise = noise_codes(prep.labels, noise_label)
    order, tiers = tier_order(prep.labels, ordinal, noise, prep.tier_dtype)
    floor = size_floor(prep.sizes, min_size, min_share)
    pairs = _Pairs(prep, stats, numeric_test, correction, alpha, merge_rule, prep.sizes >= floor)
    merges = merge_map(stats, prep.sizes, prep.labels, alpha=alpha, min_size=min_size, min_share=min_share,
                       numeric_test=numeric_test, outcome_names=[o.name for o in prep.outcomes],
                       apart=pairs.apart, order=order, rule=merge_rule, noise=noise, explain=pairs.explain,
                       progress=progress)
    profile_rows = _profiles(prep, stats if mask is None else [outcome_stats(prep.data, o, prep.k)
                                                                for o in prep.outcomes],
                             numeric_test, bootstrap, 1 - alpha, boot_rng, progress)
    replication = (_replicate(prep, mask, stats, tests, p_adjusted, numeric_test, alpha, correction, mc_rng,
                              mc_samples) if mask is not None else None)
    table = _outcome_table(prep.outcomes, tests, p_adjusted, alpha, replication)
    keep = np.ones(prep.k, dtype=bool)
    keep[noise] = False
    stand = standouts(stats, prep.outcomes, prep.labels, keep, numeric_test=numeric_test, correction=correction,
                      alpha=alpha, threshold=standout_effect)
    circular = [o.name for o in prep.outcomes if made_from and o.name in set(made_from)]
    if circular:
        warnings.warn(_circular_sentence(circular), SegmentWarning, stacklevel=2)
    verdict, reasons = _verdict(table, merges, prep, alpha, min_size, min_share, stand, circular, noise, tiers)
    merge_table = _with_left_out(merges.table, prep)
    params = {
        "segment": segment, "numeric_test": numeric_test, "alpha": alpha, "correction": correction,
        "merge_rule": merge_rule, "ordinal": order is not None, "ordinal_from": tiers,
        "noise_label": noise_label, "standout_effect": standout_effect, "made_from": list(made_from or []),
        "min_size": min_size, "min_share": min_share, "holdout": holdout, "bootstrap": bootstrap,
        "mc_samples": mc_samples, "max_segments": max_segments, "seed": seed,
        "outcomes": {o.name: o.describe() for o in prep.outcomes},
        "effect_conventions": {**CONVENTIONS, **PAIR_CONVENTIONS},
        "merge_rule_text": _RULE_TEXT[merge_rule],
    }
    run_stats = {"rows": prep.rows, "rows_used": int(prep.sizes.sum()), "rows_without_segment": prep.null_segments,
                 "segments": prep.k, "segments_left_out": prep.left_out.height,
                 "rows_in_segments_left_out": int(prep.left_out["n"].sum()), "small_segments": len(merges.small),
                 "noise_rows": int(prep.sizes[noise].sum()), "standouts": int(stand["standout"].sum()),
                 "rows_held_out": replication["holdout_rows"] if replication else 0}
    return ValidationResult(verdict, reasons, table, pairs.table, merge_table, merges.steps,
                            _profile_frame(prep, profile_rows), stand, circular, run_stats, params)


_RULE_TEXT = {
    "pairs": "a pair of segments is significant when its post-hoc p-value, adjusted as one family over all "
             "pairs and outcomes (--correction), is at most alpha; two segments are kept apart when a pair is significant on some "
             "outcome, or when its unadjusted p is at most alpha with at least a small effect (both segments big "
             "enough to act on); groups of segments are merged, least different first, while no segment of one is "
             "kept apart from one of the other and their homogeneity test p x outcomes compared x pairs compared "
             "> alpha",
    "chaid": "Kass (1980): a pair of segments is significant when its unadjusted post-hoc p-value is at most "
             "alpha; the least different pair of (pooled) groups is merged while its unadjusted p > alpha and no "
             "segment of one is significantly different from one of the other",
}


def _circular_sentence(circular: list[str]) -> str:
    names = ", ".join(repr(c) for c in circular)
    return (f"circular test: outcome {names} {'was' if len(circular) == 1 else 'were'} among the features the "
            "segments were made from (input provenance), so a difference there is by construction, not evidence; "
            "validate on an outcome the segments did not see, e.g. what customers did later (rfm --holdout-end "
            "gives monetary_holdout and frequency_holdout)")


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


def _replicate(prep: Prepared, mask: pl.Series, found_stats: list, tests: list[OmnibusResult],
               p_adjusted: np.ndarray, numeric_test: str, alpha: float, correction: str,
               mc_rng: np.random.Generator, mc_samples: int) -> dict[str, Any]:
    held = prep.data.filter(mask)
    p_held, tau = [], []
    for spec, s_found in zip(prep.outcomes, found_stats, strict=True):
        s_held = outcome_stats(held, spec, prep.k)
        p_held.append(omnibus(s_held, numeric_test, rng=mc_rng, mc_samples=mc_samples).p)
        tau.append(order_agreement(s_found, s_held, positive_only=spec.kind == "binary"))
    p_held_arr, tau_arr = np.array(p_held), np.array(tau)
    # Only differences found on the other rows are put to the test again, as one family.
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


class _Pairs:
    """The post-hoc pairs, and from them the segments the merge map must keep apart.

    ``table`` is ``--pairs``. Its p-values are adjusted as one family over
    every pair and outcome, so that the chance that any two segments alike on
    every outcome are called different is at most alpha (Holm, Bonferroni).
    ``apart[a, b]`` is True when some outcome keeps segments ``a`` and ``b``
    apart (column ``kept_apart``): the pair is significant under the merge
    rule, or differs at unadjusted *alpha* by at least a small effect while
    both are big enough to act on.
    """

    def __init__(self, prep: Prepared, stats: list, numeric_test: str, correction: str, alpha: float,
                 rule: str, big: np.ndarray):
        k = prep.k
        self.k, self.labels, self.specs = k, prep.labels, prep.outcomes
        i, j = np.triu_indices(k, 1)
        self.apart = np.zeros((k, k), dtype=bool)
        self.rows: list[dict[str, Any]] = []
        for spec, s in zip(prep.outcomes, stats, strict=True):
            stat, p, method = pairwise(s, i, j, numeric_test)
            keep = (s.n[i] > 0) & (s.n[j] > 0)
            effect, size, labels = pair_effects(s, i, j)
            if spec.kind == "numeric":
                value = s.median if numeric_test == "kruskal" else s.mean
            elif spec.kind == "binary":
                value = s.rates()[:, -1]
            else:
                value = np.full(k, np.nan)  # several levels: see the profile table
            self.rows.append({"p": np.where(keep, p, np.nan), "stat": stat, "method": method, "keep": keep,
                              "size": size, "label": labels, "value": value,
                              "effect": effect, "n": s.n})
        family = adjust(np.concatenate([r["p"] for r in self.rows]), correction)
        parts = []
        for t, (spec, row) in enumerate(zip(prep.outcomes, self.rows, strict=True)):
            p, keep = row["p"], row["keep"]
            p_adj = row["p_adjusted"] = family[t * i.size:(t + 1) * i.size]
            meaningful = (row["label"] != "negligible") & (row["label"] != None)  # noqa: E711 (object array)
            with np.errstate(invalid="ignore"):
                significant = (p <= alpha) if rule == "chaid" else (p_adj <= alpha)
                kept = keep & (significant | ((p <= alpha) & meaningful & big[i] & big[j]))
            self.apart[i[kept], j[kept]] = self.apart[j[kept], i[kept]] = True
            a, b = i[keep], j[keep]
            value, n = row["value"], row["n"]
            parts.append(pl.DataFrame({
                "outcome": pl.Series([spec.name] * a.size, dtype=pl.String),
                "segment_a": prep.labels.gather(a), "segment_b": prep.labels.gather(b),
                "n_a": pl.Series(n[a], dtype=pl.Int64), "n_b": pl.Series(n[b], dtype=pl.Int64),
                "value_a": pl.Series(value[a], dtype=pl.Float64), "value_b": pl.Series(value[b], dtype=pl.Float64),
                "difference": pl.Series(value[a] - value[b], dtype=pl.Float64),
                "test": pl.Series(row["method"][keep].astype(str), dtype=pl.String),
                "statistic": pl.Series(row["stat"][keep], dtype=pl.Float64),
                "p": pl.Series(p[keep], dtype=pl.Float64),
                "p_adjusted": pl.Series(p_adj[keep], dtype=pl.Float64),
                "significant": pl.Series(significant[keep], dtype=pl.Boolean),
                "effect": pl.Series([row["effect"]] * a.size, dtype=pl.String),
                "effect_size": pl.Series(row["size"][keep], dtype=pl.Float64),
                "effect_label": pl.Series(list(row["label"][keep]), dtype=pl.String),
                "kept_apart": pl.Series(kept[keep], dtype=pl.Boolean),
            }))
        self.table = pl.concat(parts).with_columns(
            pl.col("value_a", "value_b", "difference", "effect_size").fill_nan(None))

    def explain(self, g: int, head: int) -> str:
        """How *g* and *head* differ on the outcome that separates them most (smallest p)."""
        a, b = min(g, head), max(g, head)
        at = a * (2 * self.k - a - 1) // 2 + (b - a - 1)
        best = None
        for spec, row in zip(self.specs, self.rows, strict=True):
            p = row["p"][at]
            if p == p and (best is None or p < best[1]["p"][at]):
                best = (spec, row)
        if best is None:
            return "no outcome compares them"
        spec, row = best
        fmt = (lambda v: f"{v:.1%}") if spec.kind == "binary" else (lambda v: f"{v:,.4g}")
        values = "" if spec.kind == "categorical" else f"{fmt(row['value'][g])} vs {fmt(row['value'][head])}, "
        size = row["size"][at] * (1 if g == a or row["effect"] == "cohens_w" else -1)
        label = row["label"][at] or "n/a"
        return (f"closest call {spec.name!r}: {values}{EFFECT_NAMES[row['effect']]} {size:+.2f} ({label}), "
                f"pair p {format_p(row['p'][at])}, adjusted {format_p(row['p_adjusted'][at])}")


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
             min_share: float, stand: pl.DataFrame, circular: list[str], noise: list[int],
             tiers: str | None) -> tuple[str, list[str]]:
    reasons = []
    differs = table.filter(pl.col("verdict") == "differs")
    for row in table.iter_rows(named=True):
        reasons.append(_outcome_sentence(row, alpha))
    if differs.height == 0:
        verdict = "arbitrary"
    elif merges.suggested or merges.small:
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
    if merges.stuck:
        reasons.append(f"{_count(len(merges.stuck), 'small segment')} kept: each differs from every segment it "
                       f"could join: {', '.join(repr(prep.labels[g]) for g in merges.stuck[:10])}")
    flagged = stand.filter(pl.col("standout"))
    for row in flagged.head(10).iter_rows(named=True):
        reasons.append(_standout_sentence(row))
    if flagged.height > 10:
        reasons.append(f"... and {flagged.height - 10:,} more segments that stand out (see --json)")
    if noise:
        reasons.append(f"noise ({prep.labels[noise[0]]!r}, {int(prep.sizes[noise].sum()):,} rows) is reported as "
                       "its own group and never merged")
    if tiers:
        reasons.append(f"segments treated as ordered tiers ({tiers}): only neighbouring levels merge")
    if circular:
        reasons.append(_circular_sentence(circular))
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
    if flagged.height:
        shown = ", ".join(f"{r['segment']!r} on {r['outcome']!r}" for r in flagged.head(3).iter_rows(named=True))
        more = f" and {flagged.height - 3:,} more" if flagged.height > 3 else ""
        reasons[0] += f" Stands out from the rest: {shown}{more}."
    if circular and set(differs["outcome"]) <= set(circular) and differs.height:
        reasons[0] += " Circular: the outcomes that differ were features the segments were made from."
    return verdict, reasons


def _standout_sentence(row: dict) -> str:
    fmt = (lambda v: f"{v:.1%}") if row["kind"] == "binary" else (lambda v: f"{v:,.4g}")
    what = ""
    if row["kind"] != "categorical" and row["value"] is not None:
        rest = f" against {fmt(row['rest_value'])} in the rest" if row["rest_value"] is not None else ""
        what = f"{row['statistic']} {fmt(row['value'])}{rest}, "
    return (f"segment {row['segment']!r} stands out on {row['outcome']!r}: {what}"
            f"{EFFECT_NAMES[row['effect']]} {row['effect_size']:+.2f} ({row['effect_label']}), "
            f"adjusted p {format_p(row['p_adjusted'])}")


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
