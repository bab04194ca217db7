"""``segment rules``: planted effects, items, redundancy, options, and every bad input."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from scipy.stats import fisher_exact

from segment.errors import ColumnTypeError, SegmentWarning
from segment.io import read_table
from segment.rules._rules import COLUMNS, rules
from tests.conftest import FIXTURES
from tests.test_contract import assert_one_line_error

SMALL = FIXTURES / "rules_small.csv"


def planted(n: int = 20_000, seed: int = 11) -> pl.DataFrame:
    """Churn 10%; 20% with item a; 30% with b AND c (neither alone); d-g and plan are noise."""
    rng = np.random.default_rng(seed)
    flags = {k: rng.random(n) < p for k, p in zip("abcdefg", (0.3, 0.4, 0.4, 0.2, 0.3, 0.4, 0.5), strict=True)}
    rate = np.where(flags["a"], 0.2, 0.1)
    rate = np.where(flags["b"] & flags["c"], 0.3, rate)
    return pl.DataFrame({
        "customer_id": np.arange(n), **{k: np.where(v, "yes", "no") for k, v in flags.items()},
        "plan": rng.choice(["basic", "plus", "max"], n), "churn": rng.random(n) < rate,
    })


@pytest.fixture(scope="module")
def planted_result():
    return rules(planted(), target="churn", keep_redundant=True, keep_insignificant=True, min_lift=0)


def _row(table: pl.DataFrame, antecedent: str) -> dict:
    rows = table.filter(pl.col("antecedent") == antecedent)
    assert rows.height == 1, antecedent
    return rows.row(0, named=True)


# ------------------------------------------------------------ simulation


def test_planted_main_effect_and_interaction_are_found_and_productive(planted_result):
    t = planted_result.table
    a = _row(t, "a=yes")
    assert a["significant"] and a["productive"] and not a["redundant"]
    assert a["lift"] > 1.3
    bc = _row(t, "b=yes & c=yes")
    assert bc["significant"] and bc["productive"] and not bc["redundant"]
    assert bc["confidence"] > _row(t, "b=yes")["confidence"] + 0.05


def test_noise_items_are_not_significant_on_their_own(planted_result):
    t = planted_result.table
    noise = t.filter(pl.col("length") == 1, ~pl.col("antecedent").str.contains(r"^(a|b|c)="))
    assert noise.height == 11  # d-g yes and no, three plans
    assert not noise["significant"].any()


def test_adding_a_noise_item_to_a_real_rule_is_not_productive(planted_result):
    t = planted_result.table
    with_noise = t.filter(pl.col("significant"), pl.col("antecedent").str.contains("a=yes"),
                          pl.col("antecedent").str.contains(r"\b[d-g]=yes|plan="),
                          ~pl.col("antecedent").str.contains("b=yes & c=yes"))
    assert with_noise.height > 0  # significant only because they contain a=yes
    assert not with_noise["productive"].any()
    kept = rules(planted(), target="churn", productive=True).table["antecedent"].to_list()
    assert "a=yes" in kept and "b=yes & c=yes" in kept
    assert not [r for r in kept if any(f"{k}=yes" in r for k in "defg") or "plan=" in r]


def test_p_productive_is_the_largest_fisher_p_over_all_generalisations(planted_result):
    t = planted_result.table
    counts = {r["antecedent"]: (r["customers"], r["target_customers"]) for r in t.iter_rows(named=True)}
    n, n_target = t["n"][0], planted_result.stats["target_customers"]
    checked = 0
    for rule in t.filter(pl.col("significant"), pl.col("length") == 3).head(5).iter_rows(named=True):
        items = rule["antecedent"].split(" & ")
        n_x, k_x = rule["customers"], rule["target_customers"]
        ps = [fisher_exact([[k_x, n_x - k_x], [n_target - k_x, n - n_x - n_target + k_x]],
                           alternative="greater").pvalue]
        for drop in range(3):
            for keep in ([i for j, i in enumerate(items) if j != drop], [items[drop]]):
                n_y, k_y = counts[" & ".join(sorted(keep))]
                ps.append(fisher_exact([[k_x, n_x - k_x], [k_y - k_x, n_y - n_x - k_y + k_x]],
                                       alternative="greater").pvalue)
        assert rule["p_productive"] == pytest.approx(max(ps), rel=1e-9)
        checked += 1
    assert checked == 5


def test_redundant_means_a_shorter_rule_is_at_least_as_confident(planted_result):
    t = planted_result.table.filter(pl.col("length") == 2)
    conf = {r["antecedent"]: r["confidence"] for r in planted_result.table.iter_rows(named=True)}
    for rule in t.iter_rows(named=True):
        left, right = rule["antecedent"].split(" & ")
        best = max(conf.get(left, np.inf), conf.get(right, np.inf))
        assert rule["redundant"] == (best >= rule["confidence"]), rule["antecedent"]


def test_default_output_is_significant_and_not_redundant_productive_first_then_by_lift():
    res = rules(planted(), target="churn")
    t = res.table
    assert t.columns == list(COLUMNS)
    assert t["significant"].all() and not t["redundant"].any()
    assert t["productive"].any() and not t["productive"].all()
    order = list(zip(t["productive"], t["lift"], strict=True))
    assert order == sorted(order, reverse=True)
    assert res.stats["written"] == t.height == res.stats["non_redundant"]
    assert res.stats["mined"] >= res.stats["passing_thresholds"] >= res.stats["significant"]


# ------------------------------------------------------------ items


def test_not_applicable_levels_give_neither_yes_nor_no():
    raw = pl.read_csv(SMALL)
    res = rules(raw, target="churn", with_no=True, min_lift=0, keep_insignificant=True, keep_redundant=True)
    items = dict(zip(res.items["item"], res.items["customers"], strict=True))
    assert items["tv=yes"] == (raw["tv"] == "Yes").sum()
    assert items["tv=no"] == (raw["tv"] == "No").sum()
    assert not [i for i in items if "service" in i]
    assert items["internet=No"] == (raw["tv"] == "No internet service").sum()
    assert items["senior=yes"] == raw["senior"].sum()  # 0/1 column is a flag


def test_numbers_are_binned_by_quantiles_or_given_breaks():
    raw = pl.read_csv(SMALL)
    res = rules(raw, target="churn", min_count=1, min_lift=0)
    bins = res.items.filter(pl.col("column") == "monthly_charges")
    assert bins.height == 4 and bins["customers"].sum() == raw.height
    assert bins["customers"].min() >= 25  # near-equal quarters
    edges = res.params["breaks"]["monthly_charges"]
    assert bins["item"][0] == f"monthly_charges<{edges[0]:g}"
    res = rules(raw, target="churn", min_count=1, min_lift=0, breaks={"monthly_charges": [50, 80]})
    got = dict(res.items.filter(pl.col("column") == "monthly_charges").select("item", "customers").iter_rows())
    x = raw["monthly_charges"]
    assert got == {"monthly_charges<50": (x < 50).sum(), "monthly_charges=[50,80)": ((x >= 50) & (x < 80)).sum(),
                   "monthly_charges>=80": (x >= 80).sum()}


def test_numbers_stored_as_text_with_blanks_are_numbers_and_blanks_are_reported():
    df = pl.DataFrame({"customer_id": range(8), "total": ["10", " ", "30.5", "40", "50", "", "70", "80"],
                       "churn": ["Yes", "No"] * 4})
    with pytest.warns(SegmentWarning, match=r"2 missing in .total."):
        res = rules(df, target="churn", bins=2, min_count=1, min_lift=0)
    assert res.items["item"].to_list() == ["total<50", "total>=50"]
    assert res.items["customers"].sum() == 6


def test_negative_numbers_are_valid_values(cli, tmp_path):
    out = tmp_path / "rules.csv"
    result = cli(["rules", FIXTURES / "rules_negative_values.csv", "--item-table", tmp_path / "items.csv",
                  "-o", out])
    assert result.exit_code == 0, result.stderr
    items = pl.read_csv(tmp_path / "items.csv")
    assert items.filter(pl.col("column") == "balance")["item"][0].startswith("balance<-")


def test_long_format_gives_the_same_rules_as_the_snapshot(cli):
    wide = rules(pl.read_csv(SMALL), target="churn", items=["contract", "internet"], keep_insignificant=True,
                 keep_redundant=True).table
    long = rules(pl.read_csv(FIXTURES / "rules_long.csv"), long=True, target="churned", keep_insignificant=True,
                 keep_redundant=True).table
    wide = wide.with_columns(pl.col("antecedent").str.replace_all(r"(contract|internet)=", ""))
    same_order = pl.col("antecedent").str.split(" & ").list.sort().list.join(" & ")
    wide, long = wide.with_columns(same_order), long.with_columns(same_order)
    keys = ["antecedent", "customers", "target_customers", "p_value"]
    assert wide.select(keys).sort("antecedent").equals(long.select(keys).sort("antecedent"))
    assert (long["consequent"] == "churned").all()


def test_yes_no_columns_give_both_items_by_default_and_yes_only_drops_no(cli, tmp_path):
    raw = pl.read_csv(SMALL)
    both = rules(raw, target="churn", min_lift=0, keep_insignificant=True).items["item"].to_list()
    yes = rules(raw, target="churn", min_lift=0, keep_insignificant=True, with_no=False).items["item"].to_list()
    assert {"tv=yes", "tv=no", "senior=yes", "senior=no"} <= set(both)
    assert "tv=yes" in yes and not [i for i in yes if i.endswith("=no")]
    out = tmp_path / "items.csv"
    assert cli(["rules", SMALL, "--yes-only", "--item-table", out, "-o", tmp_path / "r.csv"]).exit_code == 0
    assert pl.read_csv(out)["item"].to_list() == yes


def codes_snapshot(n: int = 3_000, seed: int = 3) -> pl.DataFrame:
    """Status 1/2 and Age Group 1-5 are codes; Status=2 churns (and only Age Group=3)."""
    rng = np.random.default_rng(seed)
    status = rng.integers(1, 3, n)
    age = rng.integers(1, 6, n)
    rate = np.where(status == 2, 0.3, 0.1) + np.where(age == 3, 0.2, 0.0)
    return pl.DataFrame({"customer_id": np.arange(n), "Status": status, "Age Group": age,
                         "Seconds of Use": rng.integers(0, 20_000, n), "churn": rng.random(n) < rate})


def test_whole_number_codes_are_categories_with_a_note():
    """Regression (issue 14): codes became ranges (Status>=2, Age Group=[3,4))."""
    snap = codes_snapshot()
    with pytest.warns(SegmentWarning, match=r"Status, Age Group: whole numbers with at most 10 values, read as codes"):
        res = rules(snap, target="churn")
    items = res.items["item"].to_list()
    assert [i for i in items if i.startswith("Age Group")] == [f"Age Group={k}" for k in range(1, 6)]
    assert {"Status=1", "Status=2"} <= set(items)
    assert any(i.startswith("Seconds of Use<") for i in items)  # many values: still a number
    assert {"Status=2", "Age Group=3"} <= set(res.table["antecedent"])
    binned = rules(snap, target="churn", max_categories=0).items["item"].to_list()
    assert not [i for i in binned if re.fullmatch(r"(Status|Age Group)=\d+", i)]
    assert "Status>=2" in binned
    forced = rules(snap, target="churn", categorical=["Seconds of Use"], max_categories=0, min_count=1)
    assert forced.items.filter(pl.col("column") == "Seconds of Use").height == snap["Seconds of Use"].n_unique()


def test_rules_covering_the_same_customers_are_one_row_with_the_other_wordings():
    """Regression (issue 14): collinear minutes and charge columns repeated one rule four times."""
    rng = np.random.default_rng(5)
    n = 4_000
    minutes = rng.gamma(4, 50, n).round(1)
    plan = rng.random(n) < 0.3
    churn = rng.random(n) < np.where((minutes > 300) & ~plan, 0.6, 0.1)
    snap = pl.DataFrame({"customer_id": np.arange(n), "day_minutes": minutes, "day_charge": (minutes * 0.17).round(2),
                         "plan": np.where(plan, "Yes", "No"), "churn": churn})
    merged = rules(snap, target="churn", breaks={"day_minutes": [300], "day_charge": [51]}).table
    apart = rules(snap, target="churn", breaks={"day_minutes": [300], "day_charge": [51]}, merge_same=False).table
    row = merged.filter(pl.col("antecedent") == "day_charge>=51 & plan=no").row(0, named=True)
    assert row["same_as"] == "day_minutes>=300 & plan=no"
    assert "day_minutes>=300 & plan=no" not in merged["antecedent"].to_list()
    twin = apart.filter(pl.col("antecedent") == "day_minutes>=300 & plan=no").row(0, named=True)
    assert {k: twin[k] for k in ("customers", "target_customers", "p_value")} == \
        {k: row[k] for k in ("customers", "target_customers", "p_value")}
    assert apart.height == merged.height + merged["same_as"].drop_nulls().str.count_matches("; ").sum() + \
        merged["same_as"].drop_nulls().len()
    assert apart["same_as"].null_count() == apart.height


# ------------------------------------------------------------ options


def test_negative_rules_point_to_staying():
    res = rules(pl.read_csv(SMALL), target="churn", negative=True)
    assert set(res.table["consequent"]) == {"churn=Yes", "churn=No"}
    stay = res.table.filter(pl.col("consequent") == "churn=No")["antecedent"].to_list()
    assert "contract=Two year" in stay or "contract=One year" in stay


def test_target_value_can_be_named_in_any_case():
    raw = pl.read_csv(SMALL)
    auto = rules(raw, target="churn").table
    assert auto.equals(rules(raw, target="churn=Yes").table)
    assert auto.equals(rules(raw, target="churn=yes").table)


def test_top_and_sort(cli):
    res = rules(planted(), target="churn", sort="p", top=3)
    assert res.table.height == 3
    assert res.table["p_value"].to_list() == sorted(res.table["p_value"].to_list())


def test_progress_is_reported():
    calls = []
    rules(pl.read_csv(SMALL), target="churn", progress=lambda task, done, total: calls.append((task, done, total)))
    assert calls and calls[-1][1] == calls[-1][2] and calls[-1][0].startswith("mining rules")


@pytest.mark.parametrize("engine", ["bitset", "mlxtend"])
def test_progress_moves_during_the_search(engine):
    """Regression (issue 14): -v progress jumped from 0% to 100%."""
    calls = []
    rules(planted(), target="churn", engine=engine, progress=lambda task, done, total: calls.append((done, total)))
    shares = [done / total for done, total in calls if total]
    assert shares == sorted(shares) or engine == "mlxtend"  # mlxtend: the family count, then fpgrowth
    assert len({round(s, 1) for s in shares}) >= 5  # at least five distinct tenths on the way
    assert shares[-1] == 1.0


def test_cli_writes_data_to_stdout_and_a_summary_to_stderr(cli, tmp_path):
    result = cli(["rules", SMALL, "--target", "churn=Yes", "--item-table", tmp_path / "items.parquet"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == ",".join(COLUMNS)
    assert "contract=" in result.stderr
    side = read_table(tmp_path / "items.parquet")
    assert side.provenance["details"]["role"] == "item-table"
    assert side.frame.collect().columns == ["item", "column", "customers", "target_customers", "target_rate"]


def test_counts_are_labelled_customers_and_the_target_everywhere(cli, tmp_path, monkeypatch):
    """Regression (issue 14): the console's "customers" were the churners of the rule."""
    from segment_cli.run import stderr_console

    monkeypatch.setattr(stderr_console, "width", 200)  # one line per rule
    out = tmp_path / "rules.csv"
    result = cli(["rules", SMALL, "--target", "churn=Yes", "-o", out])
    assert result.exit_code == 0, result.stderr
    table = pl.read_csv(out)
    assert {"customers", "target_customers"} <= set(table.columns)
    assert not {"n_rule", "n_antecedent"} & set(table.columns)
    header = next(line for line in result.stderr.splitlines() if "antecedent" in line)
    assert [h.strip() for h in header.strip("┃ ").split("┃")] == [
        "antecedent", "customers", "churn=Yes", "conf.", "lift", "p adj."]
    first = table.row(0, named=True)
    row = next(line for line in result.stderr.splitlines() if line.startswith("│ " + first["antecedent"][:20]))
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:3] == [f"{first['customers']:,}", f"{first['target_customers']:,}"]
    assert "120 customers, 47 with churn=Yes (39.2%)" in result.stderr
    assert "antecedents held by" in result.stderr


def test_old_column_names_still_work_for_one_release_with_a_warning(cli, tmp_path):
    out, items = tmp_path / "rules.csv", tmp_path / "items.csv"
    result = cli(["rules", SMALL, "--old-column-names", "--with-no", "-o", out, "--item-table", items])
    assert result.exit_code == 0, result.stderr
    new = rules(pl.read_csv(SMALL), target="churn").table
    old = pl.read_csv(out)
    assert old["n_antecedent"].to_list() == new["customers"].to_list()
    assert old["n_rule"].to_list() == new["target_customers"].to_list()
    assert "with_target" in pl.read_csv(items).columns
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "--old-column-names is deprecated" in warnings[0] + warnings[1]
    assert "--with-no is the default now" in warnings[0] + warnings[1]


def test_engines_agree_through_the_cli(cli):
    a = cli(["rules", SMALL, "--keep-redundant", "--keep-insignificant"])
    b = cli(["rules", SMALL, "--keep-redundant", "--keep-insignificant", "--engine", "bitset"])
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout


# ------------------------------------------------------------ bad input


BAD = [
    ("rules_target_constant.csv", (), "target column 'churn' is 'No' in every row"),
    ("rules_target_empty.csv", (), "target column 'churn' is empty in 1 rows, first in row 7"),
    ("rules_target_unclear.csv", (), "target column 'churn' has 3 values (gone, paused, stayed); name the one"),
    ("rules_all_empty_column.csv", (), "column 'fax' is empty in every row; leave it out with --exclude fax"),
    ("rules_numeric_one_value.csv", (), "column 'lines' holds one value ('2') in every row"),
    ("rules_duplicate_id.csv", (), "customer id 'C0003' appears more than once (rows 4 and 10)"),
    ("rules_empty_id.csv", (), "column 'customer_id' is empty in row 5"),
    ("rules_small.csv", ("--target", "chrun"), "target column 'chrun' not found; did you mean 'churn'?"),
    ("rules_small.csv", ("--target", "churn=Maybe"), "target value 'Maybe' does not occur in column 'churn'"),
    ("rules_small.csv", ("--min-count", "1000"), "no item reaches the minimum support of 1,000 customers"),
    ("rules_small.csv", ("--items", "contract,plan"), "item column 'plan' not found"),
    ("rules_small.csv", ("--items", "churn"), "--items names 'churn', which is the target column"),
    ("rules_small.csv", ("--categorical", "plan"), "--categorical names 'plan', which is not an item column"),
    ("rules_small.csv", ("--max-categories", "-1"), "--max-categories cannot be negative"),
    ("rules_small.csv", ("--exclude", "tvv"), "excluded column 'tvv' not found; did you mean 'tv'?"),
    ("rules_small.csv", ("--breaks", "contract=1,2"), "--breaks names 'contract', which holds categories"),
    ("rules_small.csv", ("--breaks", "monthly_charges=80,50"), "must be one or more increasing numbers"),
    ("rules_small.csv", ("--breaks", "monthly_charges=a"), "--breaks: 'a' is not a number"),
    ("rules_small.csv", ("--min-support", "1.5"), "--min-support is a fraction of customers"),
    ("rules_small.csv", ("--min-support", "0.1", "--min-count", "5"), "not both"),
    ("rules_small.csv", ("--max-len", "0"), "--max-len must be between 1 and 8"),
    ("rules_small.csv", ("--alpha", "1"), "--alpha must be between 0 and 1"),
    ("rules_small.csv", ("--bins", "1"), "--bins must be between 2 and 20"),
    ("rules_small.csv", ("--correction", "bonferoni"), "'bonferoni' is not one of"),
    ("rules_small.csv", ("--long",), "item column 'item' not found"),
    ("rules_long.csv", ("--long", "--target", "churnd"), "target item 'churnd' does not occur in column 'item'; "
                                                         "did you mean 'churned'?"),
]


@pytest.mark.parametrize(("fixture", "args", "message"), BAD, ids=[f"{f}:{' '.join(a)}" for f, a, _ in BAD])
def test_bad_input_is_a_one_line_error_and_writes_nothing(cli, tmp_path, fixture, args, message):
    out = tmp_path / "rules.csv"
    assert_one_line_error(cli(["rules", FIXTURES / fixture, *args, "-o", out]), message)
    assert list(tmp_path.iterdir()) == []


def test_date_columns_cannot_be_items():
    df = pl.DataFrame({"customer_id": [1, 2, 3], "joined": [dt.date(2024, 1, d) for d in (1, 2, 3)],
                       "churn": [True, False, True]})
    with pytest.raises(ColumnTypeError, match="column 'joined' is Date; .* --exclude joined"):
        rules(df, target="churn")


def test_every_customer_holding_the_target_item_is_an_error(cli, tmp_path):
    path = tmp_path / "long.csv"
    pl.DataFrame({"customer_id": [1, 1, 2], "item": ["x", "gone", "gone"]}).write_csv(path)
    assert_one_line_error(cli(["rules", path, "--long", "--target", "gone"]), "every customer holds the target")


def test_no_rule_passing_is_an_empty_table_not_an_error(cli, tmp_path):
    out = tmp_path / "rules.csv"
    result = cli(["rules", SMALL, "--min-lift", "5", "-o", out])
    assert result.exit_code == 0, result.stderr
    assert out.read_text().strip() == ",".join(COLUMNS)
    assert "No rule to show" in result.stderr and "0 written" in result.stderr


@pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")
def test_negative_rules_when_no_item_is_frequent_among_target_customers():
    # 3,254 churners: a minimum of 5,000 leaves only rules to "not churn".
    res = rules(planted(), target="churn", negative=True, min_count=5_000, min_lift=0,
                keep_insignificant=True, keep_redundant=True)
    assert res.stats["mined"] > 0
    assert set(res.table["consequent"]) == {"churn=false"}


@pytest.mark.parametrize("marker", ["NA", "nan", "n/a", "NULL"])
def test_missing_value_markers_keep_a_numeric_column_numeric(marker):
    """Regression: one 'NA' in a numeric text column turned it into one item per distinct value."""
    from segment.rules._items import snapshot_items
    from segment.rules._target import resolve_target

    values = [str(v) for v in range(40)]
    values[3] = marker
    snap = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "complaints": values,
                         "churn": ["Yes", "No"] * 20})
    m = snapshot_items(snap, resolve_target(snap, "churn"), id="customer_id", min_count=1, bins=4)
    assert len(m.labels) == 4 and m.labels[0].startswith("complaints<") and m.labels[-1].startswith("complaints>=")
    assert sum(m.pos_counts) + sum(m.neg_counts) == 39  # the marked customer has no item


def test_coarse_numbers_keep_one_item_per_value_while_rfm_spreads_its_scores():
    """rfm spreads fewer distinct values than bins over its 1-5 scale; rules shares the binning
    (segment/binning.py) but must keep its items: one per value, no empty bins, breaks unrepeated."""
    df = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "charge": [10.5, 20.5, 30.5] * 13 + [10.5],
                       "churn": ["Yes", "No", "No", "No"] * 10})
    res = rules(df, target="churn", bins=5, min_count=1, min_lift=0)
    assert dict(res.items.select("item", "customers").iter_rows()) == {
        "charge<20.5": 14, "charge=[20.5,30.5)": 13, "charge>=30.5": 13}
    assert res.params["breaks"]["charge"] == [20.5, 30.5]


def test_library_rules_on_an_empty_frame_says_no_rows_not_missing_target_value():
    """Regression: the library's rules() on an empty frame said "target value ... does not occur (values: )"."""
    from segment.errors import EmptyInputError
    from segment.rules import rules

    frame = pl.DataFrame({"customer_id": [], "churn": [], "plan": []},
                         schema={"customer_id": pl.String, "churn": pl.String, "plan": pl.String})
    for target in ("churn", "churn=Yes"):
        with pytest.raises(EmptyInputError, match="no rows"):
            rules(frame, target=target)
