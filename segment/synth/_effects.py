"""The ``truth_effects`` table: what was planted on purpose, and what is only along for the ride.

Two kinds of rows:

- **items** (``variable`` = column, ``item`` = ``column=value``, or the
  planted interaction ``fibre=yes & tech_support=no``), outcome ``churn``:
  the planted *direct* effect on the log-odds of churn (the customer's line
  being cancelled within the panel window), conditional on everything else.
  ``association`` says whether an item without a direct effect is still
  associated with churn through another planted path (``confounded``: a rule
  miner will see it, a conditional model should not) or is independent of
  churn altogether (``independent``: any rule with it is a false positive).
- **segmenting variables** (``item`` = the column name) for outcomes churn,
  revenue, voice_min and data_mb: whether segments by this column differ on
  the outcome (``differs``) or not (``none``), for checking a segmentation
  validator: ``gender`` and ``channel`` are true negatives, ``plan`` a true
  positive.

Examples
--------
>>> t = truth_effects()
>>> t.filter(pl.col("item") == "contract=month-to-month").select("effect", "log_odds").row(0)
('raises', 1.0)
>>> sorted(t.filter((pl.col("item") == "gender") & (pl.col("effect") == "none"))["outcome"])
['churn', 'data_mb', 'revenue', 'voice_min']
"""

from __future__ import annotations

import math

import polars as pl

from segment.synth import _world as w

OUTCOMES = ("churn", "revenue", "voice_min", "data_mb")

_CONFOUNDED = {
    "plan": "prepaid plans are always month-to-month",
    "payment_method": "payment methods differ between prepaid and postpaid lines, and so by contract",
    "device_insurance": "more common on postpaid lines, which are less often month-to-month",
    "intl_roaming": "more common on postpaid lines, which are less often month-to-month",
    "fibre": "fibre=yes & tech_support=no raises churn; fibre is also more common on postpaid lines",
    "tech_support": "tech_support=no is part of the planted fibre=yes & tech_support=no effect",
    "age_band": "age band shapes the value group, the group the plan, and prepaid plans are month-to-month",
}
_INDEPENDENT = ("gender", "channel", "streaming", "cloud_backup")

SCHEMA = {"item": pl.String, "variable": pl.String, "outcome": pl.String, "effect": pl.String,
          "association": pl.String, "log_odds": pl.Float64, "odds_ratio": pl.Float64,
          "reference_rate": pl.Float64, "rate_with": pl.Float64, "rate_ratio": pl.Float64, "note": pl.String}


def _p(logit: float) -> float:
    return 1 / (1 + math.exp(-logit))


def _levels() -> dict[str, tuple[str, ...]]:
    yes = ("yes", "no")
    return {
        "contract": ("month-to-month", "one-year", "two-year"),
        "plan": w.PLANS,
        "payment_method": ("cash", "e_wallet", "credit_card", "direct_debit"),
        **{a: yes for a in w.ADDONS},
        "gender": tuple(w.GENDERS),
        "age_band": w.AGE_BANDS,
        "channel": tuple(w.CHANNELS),
    }


def truth_effects() -> pl.DataFrame:
    """The planted effects table (see module docstring)."""
    p0 = _p(w.CHURN_BASE_LOGIT)
    rows: list[dict] = []

    def item(name: str, variable: str, effect: str, association: str, logit: float, note: str) -> None:
        rate = _p(w.CHURN_BASE_LOGIT + logit)
        rows.append({"item": name, "variable": variable, "outcome": "churn", "effect": effect,
                     "association": association, "log_odds": logit, "odds_ratio": math.exp(logit),
                     "reference_rate": p0, "rate_with": rate, "rate_ratio": rate / p0, "note": note})

    direct = {label: effect for label, _, effect in w.CHURN_EFFECTS}
    for label, conditions, effect in w.CHURN_EFFECTS:
        variable = " & ".join(c for c, _ in conditions)
        item(label, variable, "raises" if effect > 0 else "lowers", "direct", effect,
             "planted: adds this to the log-odds of churn of any customer it applies to")
    item("contract=one-year", "contract", "reference", "reference", 0.0,
         "reference level: the reference customer has a one-year contract and no fibre")
    for variable, levels in _levels().items():
        for level in levels:
            label = f"{variable}={level}"
            if label in direct or label == "contract=one-year" or (variable in w.ADDONS and level == "no"
                                                                     and variable != "tech_support"):
                continue
            if variable in _INDEPENDENT:
                item(label, variable, "none", "independent", 0.0, "drawn independently of churn")
            elif variable in _CONFOUNDED:
                item(label, variable, "none", "confounded", 0.0, "no direct effect; " + _CONFOUNDED[variable])

    segmenting = {
        "gender": dict.fromkeys(OUTCOMES, ("none", "independent", "drawn independently of everything")),
        "channel": dict.fromkeys(OUTCOMES, ("none", "independent", "drawn independently of everything")),
        "plan": {"churn": ("differs", "confounded", "prepaid plans are always month-to-month"),
                 **dict.fromkeys(OUTCOMES[1:], ("differs", "confounded",
                                                "plans are chosen by value group, which sets usage and ARPU"))},
        "age_band": {"churn": ("differs", "confounded", "weakly: age band -> value group -> plan -> contract"),
                     **dict.fromkeys(OUTCOMES[1:], ("differs", "confounded",
                                                    "age band shapes the value group, which sets usage and ARPU"))},
        "contract": {"churn": ("differs", "direct", "planted churn effects of month-to-month and two-year"),
                     **dict.fromkeys(OUTCOMES[1:], ("differs", "confounded",
                                                    "prepaid lines (lower usage groups) are all month-to-month"))},
    }
    for variable, by_outcome in segmenting.items():
        for outcome, (effect, association, note) in by_outcome.items():
            rows.append({"item": variable, "variable": variable, "outcome": outcome, "effect": effect,
                         "association": association, "log_odds": None, "odds_ratio": None,
                         "reference_rate": None, "rate_with": None, "rate_ratio": None, "note": note})
    return pl.DataFrame(rows, schema=SCHEMA)
