"""segment lifecycle --scheme b2b: hand-made accounts, KPI arithmetic, synth truth, options, CLI.

The fixtures under ``tests/fixtures/b2b`` are one account each, named after
the case (see each file's rows: account, line, month, status, product,
revenue, cost, activation).
"""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from segment.errors import OptionError
from segment.lifecycle import B2B_STAGES, lifecycle
from segment.synth import b2b
from tests.conftest import FIXTURES
from tests.test_contract import assert_one_line_error

B2B = FIXTURES / "b2b"
ACCOUNT = dict(scheme="b2b", account="account_id", id="line_id", revenue="revenue", status="status",
               status_values={"prospect": ["prospect", "trial"]}, cost="cost", products=["product"],
               activation="activation")
SYNTH = dict(ACCOUNT, voice="voice_min", data="data_mb")
CLI = ["--scheme", "b2b", "--account", "account_id", "--revenue", "revenue", "--status", "status",
       "--status-values", "prospect=prospect,trial", "--cost", "cost", "--product", "product",
       "--activation", "activation"]


def staged(panel: pl.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifecycle(panel, **{**ACCOUNT, **kw})


def fixture(name: str) -> pl.DataFrame:
    return pl.read_csv(B2B / f"{name}.csv", schema_overrides={"activation": pl.Date})


@pytest.mark.parametrize("case, stage", [
    ("account_in_potential", "potential"), ("account_in_development", "development"),
    ("account_in_growth", "growth"), ("account_in_maturity", "maturity"), ("account_in_decline", "decline"),
    ("account_in_termination", "termination"), ("account_declining_in_second_year", "decline"),
    ("prospect_never_buys", "potential"),
])
def test_each_hand_made_account_is_staged_right(case, stage):
    snap = staged(fixture(case)).snapshot()
    assert snap.height == 1
    assert snap["stage"].cast(pl.String).item() == stage


def test_snapshot_rolls_lines_up_to_the_account():
    row = staged(fixture("account_in_growth")).snapshot().row(0, named=True)
    # 4 lines since 2022 and one more each month from 2024-08: 9 lines in 2024-12, 40 each, 20 cost each.
    assert (row["active_lines"], row["products"], row["revenue"], row["cost"], row["profit"]) == (9, 1, 360, 180, 180)
    assert row["tenure"] == 36 and row["active_lines_recent"] == 8 and row["active_lines_baseline"] == 5


def test_declining_account_in_its_second_year_develops_matures_then_declines():
    h = staged(fixture("account_declining_in_second_year")).history()
    stages = h["stage"].cast(pl.String).to_list()
    # Bought 2023-03 (activation): 6 months of development, then maturity. Two lines of four are cancelled
    # in 2024-05, its 15th month: lines (4, 4, 2) against (4, 4, 4) fall 17%, (4, 2, 2) 33% in 2024-06.
    assert stages == ["development"] * 6 + ["maturity"] * 9 + ["decline"] * 2
    assert h["tenure"].to_list() == list(range(1, 18))
    assert h["subtype"].cast(pl.String).to_list()[-2:] == ["lines-drop", "lines-drop"]
    assert h["active_lines"].to_list()[-4:] == [4, 2, 2, 2]


def test_prospect_that_never_buys_is_potential_every_month_and_costs_money():
    h = staged(fixture("prospect_never_buys")).history()
    assert h.height == 24 and set(h["stage"].cast(pl.String)) == {"potential"}
    assert h["active_lines"].sum() == 0 and h["tenure"].null_count() == 24
    # Sales cost 150 a month for 9 months and 10 a month for the trial line's 3 months; no revenue.
    assert h["profit"].sum() == -(150 * 9 + 10 * 3)


def test_termination_holds_after_a_contract_end_without_rows():
    h = staged(fixture("account_in_termination"), as_of="2024-12").history()
    tail = h.filter(pl.col("month") >= pl.date(2024, 10, 1))
    assert tail["stage"].cast(pl.String).to_list() == ["termination"] * 3
    assert tail["tenure"].to_list() == [46, 46, 46]  # tenure stops at termination


def test_kpi_profit_per_stage_equals_revenue_minus_cost_summed_by_hand():
    panel = pl.concat([fixture("account_in_potential"), fixture("account_in_development")])
    k = staged(panel).kpis().filter(pl.col("month") == pl.date(2024, 9, 1))
    row = {r["stage"]: r for r in k.iter_rows(named=True)}
    # 2024-09: P has two prospect lines, cost 200 + 0; D bought with 3 lines of 40, cost 20 each + 100 set-up.
    assert (row["potential"]["customers"], row["potential"]["revenue"], row["potential"]["cost"],
            row["potential"]["profit"]) == (1, 0, 200, -200)
    assert (row["development"]["customers"], row["development"]["revenue"], row["development"]["cost"],
            row["development"]["profit"]) == (1, 120, 160, -40)
    assert row["development"]["profit_per_customer_month"] == -40 and row["development"]["brand_new"] == 1
    assert row["growth"]["customers"] == 0 and row["growth"]["profit"] == 0
    assert row["growth"]["profit_per_customer_month"] is None


def test_kpis_match_an_independent_sum_over_the_line_rows():
    cases = ["account_in_potential", "account_in_development", "account_in_growth", "account_in_maturity",
             "account_in_decline", "account_in_termination", "account_declining_in_second_year",
             "prospect_never_buys"]
    lines = pl.concat([fixture(c) for c in cases])
    res = staged(lines)
    stage_of = res.history().select("account_id", pl.col("month").dt.strftime("%Y-%m"), "stage")
    by_hand = (lines.join(stage_of, on=["account_id", "month"])
               .group_by("stage").agg(revenue=pl.col("revenue").sum(), cost=pl.col("cost").sum())
               .with_columns(profit=pl.col("revenue") - pl.col("cost")).sort("stage"))
    totals = res.stage_totals().filter(pl.col("customer_months") > 0).join(by_hand, on="stage", how="full")
    assert totals.height == 6
    for col in ("revenue", "cost", "profit"):
        assert (totals[col] - totals[f"{col}_right"]).abs().max() < 1e-6, col
    assert (totals["customer_months"].sum() == res.history().height)


def test_stage_codes_flow_through_transitions_and_projection():
    panel = pl.concat([fixture("account_declining_in_second_year"), fixture("account_in_termination")])
    res = staged(panel, as_of="2024-12")
    t = res.transitions()
    assert t.height == 36 and t["from"].dtype == pl.Enum(B2B_STAGES)
    moves = {(r["from"], r["to"]): r["moves"] for r in t.iter_rows(named=True) if r["moves"]}
    # Y: development 6 months, maturity 9, decline 4 (its lines fall, then it falls silent), termination 3.
    # T: maturity 21 months, then a contract end: termination 3.
    assert moves == {("development", "development"): 5, ("development", "maturity"): 1,
                     ("maturity", "maturity"): 8 + 20, ("maturity", "decline"): 1, ("maturity", "termination"): 1,
                     ("decline", "decline"): 3, ("decline", "termination"): 1, ("termination", "termination"): 4}
    p = res.projection(2)
    assert p.filter((pl.col("months_ahead") == 2) & (pl.col("stage") == "termination"))["customers"].item() == 2


def test_growth_threshold_is_an_option():
    # 7, 8, 9 lines against 4, 5, 6: a rise of 60%; with --grow 0.7 that is maturity.
    assert staged(fixture("account_in_growth"), grow=0.7).snapshot()["stage"].cast(pl.String).item() == "maturity"
    # Development of 3 months: D's 4th month is then maturity.
    dev = staged(fixture("account_in_development"), development=3).snapshot()
    assert dev["stage"].cast(pl.String).item() == "maturity"


def test_b2b_options_need_the_scheme_and_the_scheme_needs_an_account_and_revenue():
    panel = fixture("account_in_maturity")
    with pytest.raises(OptionError, match="--account applies to group accounts"):
        lifecycle(panel, id="line_id", revenue="revenue", account="account_id")
    with pytest.raises(OptionError, match="--cost applies to group accounts"):
        lifecycle(panel, id="line_id", revenue="revenue", cost="cost")
    with pytest.raises(OptionError, match="name the account column with --account"):
        lifecycle(panel, revenue="revenue", scheme="b2b")
    with pytest.raises(OptionError, match="needs the revenue column"):
        lifecycle(panel, metrics=["cost"], scheme="b2b", account="account_id")
    with pytest.raises(OptionError, match="--grow must be"):
        lifecycle(panel, revenue="revenue", scheme="b2b", account="account_id", grow=0)


# ---------------------------------------------------------------- synth truth


@pytest.mark.parametrize("accounts, seed", [(2000, 1), (3000, 4)])
def test_synth_truth_is_recovered_with_at_least_95_percent_per_stage(accounts, seed):
    data = b2b(accounts, 24, seed=seed).frames()
    hist = staged(data["b2b_panel"], **SYNTH).history()
    joined = data["truth_b2b"].join(hist, on=["account_id", "month"], how="left")
    assert joined.height == data["truth_b2b"].height == hist.height and joined["stage"].null_count() == 0
    joined = joined.with_columns(pl.col("stage", "true_stage").cast(pl.String))
    for s in B2B_STAGES:
        true = joined.filter(pl.col("true_stage") == s)
        found = joined.filter(pl.col("stage") == s)
        assert true.height > 150, s  # every stage is well represented
        recall, precision = (true["stage"] == s).mean(), (found["true_stage"] == s).mean()
        assert recall >= 0.95 and precision >= 0.95, (s, recall, precision)
    assert (joined["active_lines"] == joined["true_active_lines"]).all()


def test_synth_planted_inverted_u_of_profit_is_reproduced_by_the_kpis():
    data = b2b(3000, 24, seed=2).frames()
    profit = staged(data["b2b_panel"], **SYNTH).stage_totals()["profit_per_customer_month"].to_list()
    potential, development, growth, maturity, decline, termination = profit
    assert potential < 0
    assert potential < development < growth < maturity
    assert maturity > decline > termination
    assert termination == 0  # a terminated account has no rows: no revenue, no cost


def test_synth_b2b_is_the_same_for_a_seed_and_checks_its_arguments():
    a, b_ = b2b(120, 12, seed=5).frames(), b2b(120, 12, seed=5).frames()
    assert a["b2b_panel"].equals(b_["b2b_panel"]) and a["truth_b2b"].equals(b_["truth_b2b"])
    assert not a["b2b_panel"].equals(b2b(120, 12, seed=6).frames()["b2b_panel"])
    with pytest.raises(OptionError, match="--months must be between 12 and 240"):
        b2b(10, 6)
    with pytest.raises(OptionError, match="unknown table 'panel'"):
        b2b(10, 12, tables=["panel"])


# ---------------------------------------------------------------- command line


def test_cli_synth_b2b_then_lifecycle_b2b_with_kpis(cli, tmp_path):
    r = cli(["synth", "--b2b", "--customers", "150", "--seed", "3", "--out", tmp_path / "s", "-q"])
    assert r.exit_code == 0, r.stderr
    panel = tmp_path / "s" / "b2b_panel.parquet"
    out, kpis = tmp_path / "stages.csv", tmp_path / "kpis.csv"
    r = cli(["lifecycle", panel, *CLI, "--voice", "voice_min", "--kpis", kpis, "-o", out])
    assert r.exit_code == 0, r.stderr
    assert "potential" in r.stderr and "termination" in r.stderr and "account-month" in r.stderr
    snap = pl.read_csv(out)
    assert snap["account_id"].n_unique() == snap.height == 150
    assert {"active_lines", "products", "revenue", "cost", "profit"} <= set(snap.columns)
    k = pl.read_csv(kpis)
    assert {"cost", "profit", "profit_per_customer_month"} <= set(k.columns)
    assert set(k["stage"]) == set(B2B_STAGES)
    r = cli(["lifecycle", "transitions", panel, *CLI, "--project", "2", "-q"])
    assert r.exit_code == 0 and len(r.stdout.strip().splitlines()) == 37


def test_cli_b2b_errors_are_one_line(cli):
    growth = B2B / "account_in_growth.csv"
    assert_one_line_error(cli(["lifecycle", growth, "--revenue", "revenue", "--account", "account_id"]),
                          "--account applies to group accounts")
    assert_one_line_error(cli(["lifecycle", growth, "--revenue", "revenue", "--scheme", "b2b"]), "--account")
    assert_one_line_error(cli(["lifecycle", FIXTURES / "b2b" / "prospect_never_buys.csv", "--revenue", "revenue",
                               "--scheme", "b2b", "--account", "account_id", "--status", "status"]),
                          "unknown status 'trial'")
    assert_one_line_error(cli(["lifecycle", growth, *CLI[:-2], "--product", "produkt"]), "produkt")
