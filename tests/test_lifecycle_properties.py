"""segment lifecycle against a literal per-customer reading of the rules, on random panels.

The engine is vectorised over a flat grid; ``tests/lifecycle_reference.py``
walks each customer month by month. Random panels are built to hit the
edges: gaps, silent runs, exactly-30% falls, suspensions, cancellations,
persons with several lines, activation dates before the panel.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from segment.lifecycle._lifecycle import lifecycle
from segment.lifecycle._panel import month_index, month_label
from tests import lifecycle_reference as ref

ROLES = {"voice": "voice", "data": "data", "revenue": "revenue"}
START = month_index(2023, 1)


def random_panel(seed: int, customers: int = 40, months: int = 14) -> tuple[pl.DataFrame, list[ref.Row]]:
    rng = np.random.default_rng(seed)
    levels = np.array([0.0, 0.0, 30.0, 70.0, 100.0, 100.0, 100.0, 130.0])
    rows, refs = [], []
    for c in range(customers):
        cid = f"c{c:03d}"
        person = f"p{rng.integers(0, customers // 2)}"
        first = int(rng.integers(0, months - 1))
        last = int(rng.integers(first, months))
        activation = START + first - int(rng.integers(0, 12)) if rng.random() < 0.5 else None
        for t in range(first, last + 1):
            if rng.random() < 0.12:
                continue  # a gap: no row this month
            u = {k: float(rng.choice(levels)) for k in ROLES}
            status = str(rng.choice(["active"] * 8 + ["suspended", "cancelled"]))
            if status != "active":
                u = {k: 0.0 for k in u}
            month = START + t
            rows.append({"customer_id": cid, "month": month_label(month), **u, "status": status,
                         "identity": person, "activation": None if activation is None else month_label(activation)})
            refs.append(ref.Row(cid, month, u, status, person, activation))
    return pl.DataFrame(rows, schema_overrides={"activation": pl.String}), refs


def engine_history(panel: pl.DataFrame, **kw) -> dict[tuple[str, int], dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lifecycle(panel, voice="voice", data="data", revenue="revenue", status="status",
                        identity="identity", **kw)
    hist = res.history()
    out = {}
    for r in hist.iter_rows(named=True):
        m = month_index(r["month"].year, r["month"].month)
        out[r["customer_id"], m] = {"stage": r["stage"], "subtype": r["subtype"], "tenure": r["tenure"],
                                    "in_stage": r["months_in_stage"], "winback": r["winback_months_left"]}
    return out


def _without_activation(panel: pl.DataFrame, refs: list[ref.Row]):
    return panel.drop("activation"), [ref.Row(r.id, r.month, r.usage, r.status, r.identity, None) for r in refs]


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_the_literal_rules_on_random_panels(seed):
    panel, refs = random_panel(seed)
    use_activation = seed % 2 == 0
    if not use_activation:
        panel, refs = _without_activation(panel, refs)
    got = engine_history(panel, activation="activation" if use_activation else None)
    want = ref.stages(refs, ROLES)
    assert set(got) == set(want)
    diffs = [(key, got[key], want[key]) for key in sorted(want) if got[key] != want[key]]
    assert not diffs, diffs[:5]
    # The random panels reach every stage and subtype kind.
    kinds = {v["stage"] for v in want.values()} | {v["subtype"] for v in want.values()}
    assert {"acquisition", "decline", "exit", "churn", "winback", "exit_swap", "re-entry"} <= kinds


@pytest.mark.parametrize("window, baseline, drop, exit_after", [(1, 1, 0.5, 1), (2, 4, 0.3, 2), (4, 2, 0.7, 5)])
def test_engine_matches_the_literal_rules_with_other_thresholds(window, baseline, drop, exit_after):
    panel, refs = _without_activation(*random_panel(99 + window))
    rules = dict(window=window, baseline=baseline, drop=drop, exit_after=exit_after, acquisition=2, build_up=4,
                 winback=2)
    got = engine_history(panel, **rules)
    want = ref.stages(refs, ROLES, **rules)
    diffs = [(key, got[key], want[key]) for key in sorted(want) if got[key] != want[key]]
    assert not diffs, diffs[:5]


@pytest.mark.parametrize("seed", range(4))
def test_history_month_equals_the_snapshot_as_of_that_month(seed):
    panel, _ = _without_activation(*random_panel(200 + seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = lifecycle(panel, voice="voice", data="data", revenue="revenue", status="status").history()
        for as_of in ("2023-04", "2023-09", "2024-02"):
            snap = lifecycle(panel, voice="voice", data="data", revenue="revenue", status="status",
                             as_of=as_of).snapshot()
            day = pl.lit(as_of + "-01").str.to_date()
            # What happened next is not known to a snapshot taken that month.
            rows = full.filter(pl.col("month") == day).drop("month", "next_stage", "churn_next_month")
            mine = snap.select(rows.columns).filter(pl.col("customer_id").is_in(rows["customer_id"].to_list()))
            assert mine.height == snap.height  # every customer seen by then has a history row that month
            assert mine.sort("customer_id").equals(rows.sort("customer_id"))


@pytest.mark.parametrize("seed", range(4))
def test_transition_counts_equal_consecutive_history_pairs(seed):
    panel, _ = random_panel(300 + seed)
    panel = panel.drop("identity")  # no re-entry links: every pair is a plain line-month pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lifecycle(panel.drop("activation"), voice="voice", data="data", revenue="revenue", status="status")
    hist = res.history().sort("customer_id", "month")
    assert hist["next_stage"].equals(hist.select(pl.col("stage").shift(-1).over("customer_id"))["stage"],
                                     check_names=False)
    pairs = (hist.with_columns(nxt=pl.col("stage").shift(-1).over("customer_id"))
             .filter(pl.col("stage").is_not_null() & pl.col("nxt").is_not_null())
             .group_by("stage", "nxt").agg(n=pl.len()))
    table = res.transitions()
    for row in pairs.iter_rows(named=True):
        got = table.filter((pl.col("from") == row["stage"]) & (pl.col("to") == row["nxt"]))["moves"].item()
        assert got == row["n"]
    assert table["moves"].sum() == pairs["n"].sum()
    sums = table.group_by("from").agg(pl.col("probability").sum())["probability"]
    assert np.allclose(sums.to_numpy(), 1.0, atol=1e-5)


def test_projection_equals_a_matrix_power():
    panel, _ = _without_activation(*random_panel(400))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lifecycle(panel, voice="voice", data="data", revenue="revenue", status="status", identity="identity")
    ch = res.chain()
    proj = res.projection(6)
    six = proj.filter(pl.col("months_ahead") == 6)["customers"].to_numpy()
    assert np.allclose(six, ch.current @ np.linalg.matrix_power(ch.matrix, 6), atol=1e-5)
    assert np.allclose(proj.group_by("months_ahead").agg(pl.col("customers").sum())["customers"],
                       ch.current.sum())


def test_kpis_add_up_to_the_history():
    panel, _ = _without_activation(*random_panel(500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lifecycle(panel, voice="voice", data="data", revenue="revenue", status="status", identity="identity")
    hist = res.history().filter(pl.col("stage").is_not_null())
    kpis = res.kpis()
    per = hist.group_by("month", "stage").agg(n=pl.len())
    joined = kpis.join(per, on=["month", "stage"], how="left").with_columns(pl.col("n").fill_null(0))
    assert (joined["customers"] == joined["n"]).all()
    shares = kpis.group_by("month").agg(pl.col("share").sum())["share"]
    assert np.allclose(shares.to_numpy(), 1.0, atol=1e-5)
    # next-month churn of a stage = share of its persons (identities) of whom a line is in exit the month
    # after as a churn (not a re-entry or a number swap); the swap rate likewise.
    person = panel.select("customer_id", "identity").unique()
    nxt = (res.history().sort("customer_id", "month").join(person, on="customer_id")
           .with_columns(nxt=pl.col("stage").shift(-1).over("customer_id"),
                         nxt_sub=pl.col("subtype").shift(-1).over("customer_id"))
           .filter(pl.col("stage").is_not_null() & pl.col("nxt").is_not_null() & (pl.col("stage") != "exit"))
           .group_by("month", "stage").agg(
               rate=pl.col("identity").filter((pl.col("nxt") == "exit") & (pl.col("nxt_sub") == "churn")).n_unique()
               / pl.col("identity").n_unique(),
               swaps=pl.col("identity").filter(pl.col("nxt_sub") == "exit_swap").n_unique()
               / pl.col("identity").n_unique()))
    check = kpis.join(nxt, on=["month", "stage"], how="inner")
    assert check.height > 10 and check["rate"].sum() > 0 and check["swaps"].sum() > 0
    assert np.allclose(check["churn_next_month"].to_numpy(), check["rate"].round(6).to_numpy())
    assert np.allclose(check["swap_next_month"].to_numpy(), check["swaps"].round(6).to_numpy())
