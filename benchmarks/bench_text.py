"""Benchmark ``segment rules --text``: 1,000,000 complaints of about 50 characters, read and mined.

Run by hand (never by pytest), under the shared lock, from the repository root::

    flock /work/wt/heavy.lock .venv/bin/python benchmarks/bench_text.py --repeats 3

Data (seeded, cached by the harness): a snapshot of 250,000 customers (id,
plan, churn) and a complaints table of 1,000,000 rows (customer id, date,
text), half Chinese and half English, each text a random sequence of
complaint words and stop words cut to about 50 characters, so that almost
every text is distinct (the tokeniser's cache of repeated texts does not
help). Churners use the network and billing words more often.

Contenders, each a whole process measured by benchmarks/harness.py:

- ``segment rules SNAPSHOT --complaints FILE --text text``: reading both
  tables, tokenising, mining, testing, writing the rules (the target: under
  60 s on 2 cores);
- the tokeniser alone (reading the complaints and
  ``segment.rules._text.term_pairs``): its per-round ratio to the whole run
  is the tokeniser's share of the time.

The segmenter's dictionary load (``import rjieba``) is timed on its own
in a fresh process and reported as a note.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.OUT / "text"
WHOLE = "segment rules --complaints --text"
TOKENS = "tokeniser alone (read + term_pairs)"

ZH_WORDS = ("信号 网络 掉线 网速 话费 账单 扣费 客服 态度 投诉 积分 兑换 礼品 快递 营业厅 登录 流量 套餐 宽带 "
            "视频 电话 短信 地铁 家里 公司 费用 合约 优惠 活动 办理 业务 升级 手机 号码 漫游 国际 密码 充值").split()
ZH_STOP = "的 了 我 很 都 也 就 还 是 在 一直 已经 最近 总是 非常".split()
EN_WORDS = ("signal network dropped calls slow data bill charged fee refund invoice agent rude hotline waited "
            "app login crash points reward redeem courier delivery sim card roaming plan contract upgrade "
            "offer coverage outage router broadband speed password topup balance").split()
EN_STOP = "the a my i was is and on at to it for with of very again".split()
#: Words churners use more (index into the word lists): network and billing words.
CHURN_ZH, CHURN_EN = slice(0, 7), slice(0, 11)


def generate(path: Path, customers: int, complaints: int, seed: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    path.mkdir()
    churn = rng.random(customers) < 0.2
    ids = pl.Series([f"C{i:07d}" for i in range(customers)])
    pl.DataFrame({"customer_id": ids, "plan": rng.choice(["prepaid", "postpaid_s", "postpaid_l"], customers),
                  "churn": np.where(churn, "yes", "no")}).write_parquet(path / "customers.parquet")
    who = rng.integers(0, customers, complaints)
    zh = rng.random(complaints) < 0.5
    texts = []
    for k in range(complaints):
        words, stop, sep, hot = ((ZH_WORDS, ZH_STOP, "", CHURN_ZH) if zh[k] else (EN_WORDS, EN_STOP, " ", CHURN_EN))
        picks = []
        for _ in range(24 if zh[k] else 12):
            if rng.random() < 0.3:
                picks.append(stop[rng.integers(len(stop))])
            elif churn[who[k]] and rng.random() < 0.3:
                picks.append(words[hot][rng.integers(hot.stop)])
            else:
                picks.append(words[rng.integers(len(words))])
        texts.append(sep.join(picks)[:50].strip())
    days = rng.integers(0, 365, complaints).astype("timedelta64[D]")
    pl.DataFrame({"customer_id": ids.gather(who), "date": pl.Series(np.datetime64("2024-01-01") + days),
                  "text": texts}).write_parquet(path / "complaints.parquet")


TOKENISE = r"""
import sys, polars as pl
from segment.rules._text import Terms, term_pairs
texts = pl.read_parquet(sys.argv[1], columns=["text"])["text"]
pairs = term_pairs(texts, lang="auto", terms=Terms())
print(pairs.height)
"""

DICTIONARY = r"""
import time
t = time.perf_counter()
import rjieba
rjieba.cut("测试")
print(time.perf_counter() - t)
"""


def main() -> None:
    import polars as pl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=250_000)
    ap.add_argument("--complaints", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("text", generate, {"customers": args.customers, "complaints": args.complaints,
                                              "seed": 25}, suffix="")
    out = OUT / "rules.csv"
    c = harness.Contender
    contenders = [
        c(WHOLE, harness.segment("rules", str(data / "customers.parquet"), "--complaints",
                                 str(data / "complaints.parquet"), "--text", "text", "--target", "churn",
                                 "-o", str(out), "-q")),
        c(TOKENS, harness.python(TOKENISE, str(data / "complaints.parquet"))),
    ]
    results = harness.rounds(contenders, args.repeats)
    checks = harness.Checks()
    complaints = pl.read_parquet(data / "complaints.parquet", columns=["text"])["text"]
    checks.note("input", f"{complaints.len():,} complaints, {complaints.n_unique():,} distinct, "
                         f"{complaints.str.len_chars().mean():.1f} characters on average")
    rules = pl.read_csv(out)
    checks.add("the planted network/billing words come out as significant rules",
               rules.filter(pl.col("antecedent").str.contains("信号|signal")).height > 0,
               f"{rules.height} rules written")
    loads = [float(subprocess.run([sys.executable, "-c", DICTIONARY], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    checks.note("segmenter dictionary load (import rjieba, fresh process)",
                f"{harness.Spread.of(loads).format(2, ' s')}")
    for metric in ("wall", "cpu"):
        share = results.ratio(TOKENS, WHOLE, metric)
        checks.note(f"tokeniser's share of the whole run ({metric} time, per-round ratio)", share.format(2, "x"))
    targets = [harness.Target("1M complaints read and mined in under 60 s", "absolute", WHOLE, 60.0)]
    harness.report("rules_text_1m", "`segment rules --text`: 1,000,000 complaints", results, peer=WHOLE,
                   checks=checks, targets=targets)


if __name__ == "__main__":
    main()
