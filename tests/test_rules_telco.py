"""IBM Telco churn: known drivers come out; with churn permuted, (almost) nothing does."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from segment.io import read_table
from segment.rules._rules import rules
from tests.conftest import ROOT, run_segment, shared

BUNDLED = ROOT / "examples" / "data" / "telco_churn.csv"
DRIVERS = ["Contract=Month-to-month", "InternetService=Fiber optic", "PaymentMethod=Electronic check"]
pytestmark = pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")


@pytest.fixture(scope="module")
def telco() -> pl.DataFrame:
    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    return read_table(path).frame.collect()


def test_known_churn_drivers_come_out(telco):
    """Power under the fixed family (issue 14): the named drivers and short tenure stay significant."""
    table = rules(telco, target="Churn", id="customerID").table
    found = {r["antecedent"]: r for r in table.iter_rows(named=True)}
    for driver in [*DRIVERS, "tenure<9"]:
        assert driver in found, driver
        rule = found[driver]
        assert rule["significant"] and not rule["redundant"] and rule["lift"] > 1.5
        assert rule["p_adjusted"] < 1e-100


def test_known_drivers_are_productive_and_tenure_bins_are_ordered(telco):
    res = rules(telco, target="Churn", id="customerID", min_lift=0, keep_insignificant=True,
                keep_redundant=True)
    single = {r["antecedent"]: r for r in res.table.filter(pl.col("length") == 1).iter_rows(named=True)}
    for driver in DRIVERS:
        assert single[driver]["productive"]
    # Churn falls with tenure: the quartile bins (in bin order) have falling confidence.
    tenure = res.items.filter(pl.col("column") == "tenure")["item"].to_list()
    confidences = [single[k]["confidence"] for k in tenure]
    assert len(tenure) == 4 and confidences == sorted(confidences, reverse=True)


def test_no_service_levels_are_neither_yes_nor_no(telco):
    res = rules(telco, target="Churn", id="customerID", with_no=True)
    items = dict(zip(res.items["item"], res.items["customers"], strict=True))
    assert not [i for i in items if i.endswith("service")]
    for col in ("OnlineSecurity", "TechSupport", "StreamingTV"):
        assert items[f"{col}=no"] == (telco[col] == "No").sum()
        assert items[f"{col}=yes"] + items[f"{col}=no"] == telco.height - items["InternetService=No"]
    assert items["MultipleLines=no"] + items["MultipleLines=yes"] == items["PhoneService=yes"]
    assert items["SeniorCitizen=yes"] == 1142  # 0/1 column


def test_the_cli_on_the_shared_file_names_the_drivers():
    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    proc = run_segment(["rules", path, "--id", "customerID", "--target", "Churn=Yes", "--productive",
                        "--sort", "p"], check=True)
    table = pl.read_csv(proc.stdout)
    assert set(DRIVERS) <= set(table["antecedent"])
    assert "tenure<9" in set(table["antecedent"])
    assert b"empty values in TotalCharges (11)" in proc.stderr


def test_null_calibration_permuted_churn_rarely_gives_a_significant_rule():
    """100 seeded permutations of churn, default settings (Holm): at most about 5% with any hit."""
    telco = read_table(BUNDLED).frame.collect()
    churn = telco["Churn"].to_numpy()
    runs_with_a_hit = 0
    tested = []
    for seed in range(100):
        permuted = telco.with_columns(Churn=pl.Series(churn[np.random.default_rng(seed).permutation(churn.size)]))
        res = rules(permuted, target="Churn", id="customerID")
        runs_with_a_hit += res.stats["significant"] > 0
        tested.append(res.stats["tested"])
    assert min(tested) > 1000  # a real multiple-testing burden in every run
    assert runs_with_a_hit <= 7, runs_with_a_hit
