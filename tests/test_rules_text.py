"""``rules --text``: terms of complaint texts as items, tested like plan items (issue 25).

Segmentation is checked on hand-written complaints whose terms are written
here; the planted complaint themes of ``synth --complaints`` must come out
significant and the neutral ones not; with churn permuted, a significant
rule with a term item must turn up in at most 5% of the runs, on small and
on large data (the first release of ``rules`` failed a small-data
calibration with 17% family-wise error).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from segment.errors import ColumnNotFoundError, OptionError
from segment.rules import rules
from segment.rules._text import PREFIX, Terms, stem, term_pairs, text_terms
from segment.synth import synth
from tests.conftest import ROOT, run_segment

pytestmark = pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")

#: Hand-written complaints and the terms a reader expects (single characters and stop words left out).
CHINESE = [
    ("家里信号很差，经常掉线", {"家里", "信号", "很差", "掉线"}),
    ("手机营业厅APP登录不了", {"手机", "营业厅", "app", "登录"}),
    ("宽带安装师傅迟迟不上门", {"宽带", "安装", "师傅", "迟迟", "上门"}),
    ("国际漫游流量费用太高", {"国际漫游", "流量", "费用", "太高"}),
    ("短信验证码一直收不到", {"短信", "验证码", "收不到"}),
    ("客服态度恶劣，投诉三次都没人处理", {"客服", "态度恶劣", "投诉", "三次", "没人", "处理"}),
    ("携号转网被无理拒绝", {"携号", "转网", "无理", "拒绝"}),
]

#: Theme words of the synth templates (docs/rules.md shows this file).
THEMES_FILE = """\
# planted themes
信号=network
网络=network
网速=network
掉线=network
signal=network
network=network
drop=network
话费=billing
账单=billing
扣费=billing
乱扣=billing
bill=billing
billing=billing
charge=billing
客服=service
投诉=service
态度=service
agent=service
service=service
hotline=service
# neutral themes
app=app
登录=app
快递=delivery
新卡=delivery
courier=delivery
积分=points
礼品=points
point=points
"""


@pytest.mark.parametrize(("text", "expected"), CHINESE, ids=[t for t, _ in CHINESE])
def test_chinese_complaints_segment_into_the_expected_terms(text, expected):
    assert set(text_terms([text], lang="zh")[0]) == expected


def test_words_of_the_terms_file_are_kept_whole_and_read_as_their_theme():
    terms = Terms.parse(["携号转网=portability", "乱扣=billing", "无理"])
    got = text_terms(["携号转网被无理拒绝", "话费被乱扣了二十块"], lang="zh", terms=terms)
    assert got == [["portability", "拒绝"], ["billing", "二十块", "话费"]]
    # Without the file, 乱扣 is two single characters (dropped) and 携号转网 two words.
    assert text_terms(["话费被乱扣了二十块"], lang="zh") == [["二十块", "话费"]]


def test_english_is_lower_cased_stop_words_dropped_and_inflections_met():
    got = text_terms(["The bills were WRONG: charged twice, billing never answered!",
                      "Calls keep dropping; the signal drops every night", "I can't log in to the app"], lang="en")
    assert got == [["answered", "billing", "charged", "twice", "wrong"], ["calls", "dropping", "night", "signal"],
                   ["app", "log"]]


@pytest.mark.parametrize(("words", "stem_"), [
    (("charge", "charges", "charged", "charging"), "charg"),
    (("drop", "drops", "dropped", "dropping"), "drop"),
    (("bill", "bills", "billed", "billing"), "bill"),
    (("company", "companies"), "company"),
    (("speed", "speeds"), "speed"),
    (("need", "needs", "needed"), "need"),
])
def test_the_stemmer_meets_inflections_of_one_word(words, stem_):
    assert {stem(w) for w in words} == {stem_}


def test_a_stem_is_shown_by_its_most_frequent_spelling():
    pairs = term_pairs(pl.Series(["charged twice", "charged again", "new charges"]), lang="en", terms=Terms())
    assert set(pairs["term"]) == {"charged", "twice", "new"}


def test_auto_reads_each_text_in_its_language():
    texts = ["网速太慢", "slow internet", "APP闪退"]
    assert text_terms(texts) == [["太慢", "网速"], ["internet", "slow"], ["app", "闪退"]]
    assert text_terms(texts, lang="en")[0] == []  # Chinese read as English: no Latin word


def test_terms_file_errors_name_the_line():
    with pytest.raises(OptionError, match=r"line 2: 'a b=c'"):
        Terms.parse(["# ok", "a b=c"])
    with pytest.raises(OptionError, match="line 2: 'x=' is not"):
        Terms.parse(["signal=network", "x="])
    with pytest.raises(OptionError, match="already read as 'network'"):
        Terms.parse(["signal=network", "signals=billing"])


def test_the_segmenter_prints_nothing():
    code = ("import polars as pl\nfrom segment.rules._text import Terms, term_pairs\n"
            "term_pairs(pl.Series(['家里信号很差']), lang='zh', terms=Terms())\n"
            "term_pairs(pl.Series(['携号转网']), lang='zh', terms=Terms.parse(['携号转网=port']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, check=True)
    assert (out.stdout, out.stderr) == (b"", b"")


# ---------------------------------------------------------------- on synth


@pytest.fixture(scope="module")
def synth_small() -> dict[str, pl.DataFrame]:
    return synth(customers=400, months=12, seed=25, complaints=0.4).frames()


@pytest.fixture(scope="module")
def synth_large() -> dict[str, pl.DataFrame]:
    return synth(customers=20_000, months=12, seed=26, complaints=0.3,
                 tables=["customers", "complaints", "truth_complaints"]).frames()


def _themes_of_terms(data: dict[str, pl.DataFrame]) -> dict[str, set[str]]:
    """Each term's themes, from the truth: the themes of the complaints holding it."""
    texts = data["complaints"].join(data["truth_complaints"].select("complaint_id", "theme"), on="complaint_id")
    pairs = term_pairs(texts["text"], lang="auto", terms=Terms())
    found = pairs.join(texts.with_row_index("row").select(pl.col("row").cast(pl.UInt32), "theme"), on="row")
    return {term: set(themes) for term, themes in found.group_by("term").agg("theme").iter_rows()}


def test_planted_themes_are_significant_and_neutral_ones_are_not(synth_large):
    data = synth_large
    res = rules(data["customers"].select("customer_id", "contract", "churn"), target="churn=yes",
                complaints=data["complaints"], text="text", terms=THEMES_FILE.splitlines(), max_len=2,
                keep_insignificant=True, keep_redundant=True, merge_same=False)
    singles = res.table.filter(pl.col("length") == 1)
    verdict = dict(zip(singles["antecedent"], singles["significant"], strict=True))
    for theme in ("network", "billing", "service"):
        assert verdict[PREFIX + theme], theme
    for theme in ("app", "delivery", "points"):
        assert not verdict.get(PREFIX + theme, False), theme
    truth = data["truth_complaints"].unique("theme").select("theme", "effect")
    assert dict(truth.iter_rows()) == {"network": "raises", "billing": "raises", "service": "raises",
                                       "app": "none", "delivery": "none", "points": "none"}


def test_without_a_terms_file_every_significant_term_belongs_to_a_planted_theme(synth_large):
    data = synth_large
    res = rules(data["customers"].select("customer_id", "churn"), target="churn=yes",
                complaints=data["complaints"], text="text", max_len=2, min_count=50, keep_redundant=True,
                merge_same=False)
    themes = _themes_of_terms(data)
    planted = {"network", "billing", "service"}
    significant = {item.removeprefix(PREFIX) for rule in res.table["antecedent"] for item in rule.split(" & ")}
    assert {"信号", "signal", "账单", "客服", "charged"} <= significant
    for term in significant:
        assert themes[term] <= planted, (term, themes[term])


def _permuted_runs(data: dict[str, pl.DataFrame], runs: int, seed: int) -> int:
    """Runs, with churn permuted, giving a significant rule with a term item (defaults: Holm, 1%)."""
    snap = data["customers"].select("customer_id", "contract", "fibre", "churn")
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(runs):
        shuffled = snap.with_columns(churn=pl.Series(rng.permutation(snap["churn"].to_numpy())))
        res = rules(shuffled, target="churn=yes", complaints=data["complaints"], text="text", min_term_count=5)
        hits += int(res.table["antecedent"].str.contains(PREFIX, literal=True).any())
    return hits


@pytest.mark.slow
def test_null_calibration_on_small_data(synth_small):
    # 400 customers, about 160 with a complaint: terms held by 5 to 60 customers.
    assert _permuted_runs(synth_small, runs=200, seed=1) <= 10  # 5% of 200


@pytest.mark.slow
def test_null_calibration_on_large_data(synth_large):
    assert _permuted_runs(synth_large, runs=100, seed=2) <= 5  # 5% of 100


# ---------------------------------------------------------------- the table and the options


def test_text_column_of_a_snapshot_and_complaints_table_give_the_same_items():
    snap = pl.DataFrame({"customer_id": [f"c{i}" for i in range(60)], "churn": [i % 3 == 0 for i in range(60)],
                         "note": ["信号很差" if i % 2 else "bill wrong" for i in range(60)]})
    one = rules(snap, target="churn", text="note", min_count=5, keep_insignificant=True)
    long = pl.DataFrame({"customer_id": [f"c{i}" for i in range(60)] * 2,
                         "note": ["信号很差" if i % 2 else "bill wrong" for i in range(60)] + [None] * 60})
    two = rules(snap.drop("note"), target="churn", text="note", complaints=long, min_count=5, keep_insignificant=True)
    assert one.items.equals(two.items)
    assert set(one.items["item"]) == {"text:信号", "text:很差", "text:bill", "text:wrong"}


def test_since_keeps_only_complaints_in_the_window():
    snap = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "churn": [i < 20 for i in range(40)]})
    long = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)] * 2,
                         "date": ["2024-01-15"] * 40 + ["2024-06-01"] * 40,
                         "text": ["old complaint"] * 40 + ["signal lost" if i < 20 else "new phone" for i in range(40)]})
    res = rules(snap, target="churn", complaints=long, text="text", since="2024-03-01", min_count=5,
                keep_insignificant=True)
    assert set(res.items["item"]) == {"text:signal", "text:lost", "text:new", "text:phone"}
    assert res.params["text"]["texts_in_window"] == 40


def test_min_term_count_drops_rare_terms():
    snap = pl.DataFrame({"customer_id": [str(i) for i in range(50)], "churn": [i < 25 for i in range(50)],
                         "note": ["signal"] * 30 + ["outage"] * 8 + [None] * 12})
    res = rules(snap, target="churn", text="note", min_count=2, min_term_count=10, keep_insignificant=True)
    assert res.items["item"].to_list() == ["text:signal"]


def test_text_option_errors():
    snap = pl.DataFrame({"customer_id": ["a", "b"], "churn": [True, False], "note": ["x", "y"]})
    with pytest.raises(ColumnNotFoundError, match="notes"):
        rules(snap, target="churn", text="notes")
    with pytest.raises(OptionError, match="--lang must be one of auto, zh, en"):
        rules(snap, target="churn", text="note", lang="fr")
    with pytest.raises(OptionError, match="--since selects complaints by date"):
        rules(snap, target="churn", text="note", since="2024-01-01")
    with pytest.raises(OptionError, match="need --text"):
        rules(snap, target="churn", terms=["x"])
    with pytest.raises(OptionError, match="not --long"):
        rules(snap, target="churn", text="note", long=True)


def test_cli_rules_on_synth_complaints_with_a_terms_file(tmp_path):
    run_segment(["synth", "--customers", "1500", "--months", "12", "--seed", "3", "--complaints", "0.4",
                 "--tables", "customers,complaints,truth_complaints", "--out", tmp_path / "s", "-q"], check=True)
    (tmp_path / "themes.txt").write_text(THEMES_FILE, encoding="utf-8")
    proc = run_segment(["rules", tmp_path / "s" / "customers.parquet", "--target", "churn=yes",
                        "--items", "contract", "--complaints", tmp_path / "s" / "complaints.parquet",
                        "--text", "text", "--terms", tmp_path / "themes.txt", "--since", "2023-01-01",
                        "-o", tmp_path / "rules.csv"], check=True)
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "text:network" in stderr and "customers with text" in stderr
    written = pl.read_csv(tmp_path / "rules.csv")
    assert "text:network" in written["antecedent"].to_list()


def test_cli_bad_terms_file_is_one_line_error(tmp_path):
    (tmp_path / "snap.csv").write_text("customer_id,churn,note\na,yes,signal\nb,no,bill\n")
    (tmp_path / "terms.txt").write_text("a b=c\n")
    proc = run_segment(["rules", tmp_path / "snap.csv", "--text", "note", "--terms", tmp_path / "terms.txt"])
    assert proc.returncode == 2
    assert proc.stderr.decode().strip().splitlines() == [
        "error: --terms line 1: 'a b=c' is not 'word' (a stop word) or 'word=theme' (one word, no spaces)"]


def test_synth_complaints_change_no_other_table():
    plain = synth(customers=300, months=12, seed=4).frames()
    with_texts = synth(customers=300, months=12, seed=4, complaints=0.3).frames()
    assert set(with_texts) == set(plain) | {"complaints", "truth_complaints"}
    for name, frame in plain.items():
        assert frame.equals(with_texts[name]), name
    texts, truth = with_texts["complaints"], with_texts["truth_complaints"]
    assert texts["complaint_id"].equals(truth["complaint_id"]) and texts["complaint_id"].is_unique().all()
    assert texts["text"].str.contains(r"[\u4e00-\u9fff]").any() and texts["text"].str.contains("^[A-Za-z]").any()


def test_synth_complaint_tables_need_a_share():
    with pytest.raises(OptionError, match="complaint tables need --complaints SHARE"):
        synth(customers=10, months=12, tables=["complaints"])
    with pytest.raises(OptionError, match="between 0 and 1"):
        synth(customers=10, months=12, complaints=1.5)
