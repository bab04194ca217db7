"""Small snapshots: the family-wise error holds with churn permuted, and the known drivers stay.

Regression for issue 14: on a 667-customer snapshot (international plan,
voice-mail plan, 4+ service calls, state) with churn permuted, Holm over the
*mined* rules gave a significant rule in 17% of permutations, because which
rules were mined depended on the churners. The family is now every
antecedent held by the minimum count of all customers.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
import pytest
from scipy.stats import binom

from segment.rules import rules
from segment.stats.multitest import adjust
from tests.conftest import shared

pytestmark = pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")
PERMUTATIONS = 200
ALPHA = 0.05


def bigml_667() -> pl.DataFrame:
    """The issue's case, from BigML's 80% file (the 20% held-out file is not ours to use):
    667 customers drawn without replacement (seed 667), four columns."""
    raw = pl.read_csv(shared("bigml-churn", "churn-bigml-80.csv"))
    rows = np.sort(np.random.default_rng(667).choice(raw.height, 667, replace=False))
    sub = raw[rows]
    return pl.DataFrame({
        "customer_id": np.arange(sub.height),
        "International plan": sub["International plan"],
        "Voice mail plan": sub["Voice mail plan"],
        "Service calls 4+": np.where(sub["Customer service calls"] >= 4, "Yes", "No"),
        "State": sub["State"],
        "Churn": sub["Churn"],
    })


def synthetic_400() -> pl.DataFrame:
    """The same shape without the shared data: three flags and a 40-valued, uneven state column."""
    rng = np.random.default_rng(400)
    n = 400
    states = [f"S{k:02d}" for k in range(40)]
    weights = rng.dirichlet(np.full(40, 2.0))
    return pl.DataFrame({
        "customer_id": np.arange(n),
        "plan": np.where(rng.random(n) < 0.1, "Yes", "No"),
        "vmail": np.where(rng.random(n) < 0.27, "Yes", "No"),
        "calls4": np.where(rng.random(n) < 0.08, "Yes", "No"),
        "state": rng.choice(states, n, p=weights),
        "churn": rng.random(n) < 0.15,
    })


CASES = {"bigml_667": (bigml_667, "Churn"), "synthetic_400": (synthetic_400, "churn")}


def _permuted(snap: pl.DataFrame, target: str, seed: int) -> pl.DataFrame:
    y = snap[target].to_numpy()
    return snap.with_columns(pl.Series(target, y[np.random.default_rng(seed).permutation(y.size)]))


@pytest.mark.parametrize("case", list(CASES))
def test_null_calibration_on_a_small_snapshot_holds_the_family_wise_error(case):
    """200 permutations: the share with any significant rule is at most 5% within binomial error."""
    build, target = CASES[case]
    snap = build()
    hits, families = 0, set()
    for seed in range(PERMUTATIONS):
        res = rules(_permuted(snap, target, seed), target=target)
        hits += res.stats["significant"] > 0
        families.add(res.stats["family"])
    # The largest count a true 5% rate gives with probability 99%: 17 of 200.
    assert hits <= binom.ppf(0.99, PERMUTATIONS, ALPHA), hits
    assert len(families) == 1  # the family does not depend on who churned


def test_a_family_of_mined_rules_fails_the_same_calibration():
    """The test can fail: Holm over only the rules that reached the support among churners (0.1's
    family) finds something in far more than 5% of the permutations of the issue's snapshot."""
    snap = bigml_667()
    hits = 0
    for seed in range(PERMUTATIONS):
        res = rules(_permuted(snap, "Churn", seed), target="Churn", keep_insignificant=True, keep_redundant=True,
                    min_lift=0, merge_same=False, with_no=False)
        mined = res.table
        p = np.where(mined["lift"].to_numpy() >= 1, mined["p_value"].to_numpy(), 1.0)
        hits += bool((adjust(p, "holm") <= ALPHA).any())
    assert hits > binom.ppf(0.99, PERMUTATIONS, ALPHA), hits


@pytest.mark.parametrize("case", list(CASES))
def test_the_family_is_every_antecedent_held_by_the_minimum_count(case):
    """Counted independently: every combination of up to 3 items from different columns held by
    at least min_count customers, whatever their churn."""
    build, target = CASES[case]
    snap = build()
    res = rules(snap, target=target)
    minc = res.params["min_count"]
    columns = [c for c in snap.columns if c not in ("customer_id", target)]
    items = [(c, snap[c] == v) for c in columns for v in snap[c].unique()]
    items = [(c, m.to_numpy()) for c, m in items if m.sum() >= minc]
    expected = 0
    for size in (1, 2, 3):
        for combo in combinations(items, size):
            if len({c for c, _ in combo}) == size:
                expected += int(np.logical_and.reduce([m for _, m in combo]).sum() >= minc)
    assert res.stats["family"] == expected
    assert res.stats["tested"] == expected and res.stats["mined"] < expected


def test_known_drivers_stay_significant_on_the_small_snapshot():
    """Power: international plan and 4+ service calls are found in 667 customers."""
    res = rules(bigml_667(), target="Churn")
    found = dict(zip(res.table["antecedent"], res.table["p_adjusted"], strict=True))
    for driver in ("International plan=yes", "Service calls 4+=yes"):
        assert found.get(driver, 1.0) < 1e-6, driver


def test_known_drivers_stay_significant_on_all_of_bigml():
    """Power with the defaults on the whole 80% file: service calls are codes (0-9), one item each."""
    raw = pl.read_csv(shared("bigml-churn", "churn-bigml-80.csv")).with_row_index("customer_id")
    res = rules(raw, target="Churn")
    found = dict(zip(res.table["antecedent"], res.table["p_adjusted"], strict=True))
    assert found.get("International plan=yes", 1.0) < 1e-10
    assert found.get("Customer service calls=4", 1.0) < 1e-6
    assert found.get("Customer service calls=5", 1.0) < 1e-6
    # "No voice-mail plan" is half of a strong rule, and only there with "no" items; it covers the
    # customers of "Number vmail messages<4", so it is listed as the same rule.
    wordings = [w for a, same in zip(res.table["antecedent"], res.table["same_as"], strict=True)
                for w in [a, *(same or "").split("; ")]]
    assert any("Voice mail plan=no" in w and "Total day" in w for w in wordings)
    assert found.get("Number vmail messages<4 & Total day charge>=36.72", 1.0) < 1e-20
