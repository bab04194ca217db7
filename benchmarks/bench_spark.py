"""Benchmark: ``--engine polars`` against ``--engine spark`` (local[2]) on 1M and 10M transactions.

    .venv/bin/python benchmarks/bench_spark.py [--sizes 1000000,10000000] [--repeats 2]

Issue 22 asks for both engines on this 2-core machine: Spark is expected to
be slower here. It pays a fixed start-up (a JVM, a Python worker per core,
job scheduling for each of rfm's dozen small jobs) that polars does not,
and it has the same two cores. The contender "spark start-up" (a session,
one trivial job, stop) measures that fixed cost on its own.

Contenders per size: ``segment rfm`` on each engine (Parquet in; a Parquet
file / directory out), and ``segment validate-segment`` on each engine over
the per-customer table (segment against monetary and frequency). Memory is
the summed resident set of the process and its children (Spark's JVM and
Python workers). The script checks that both engines' rfm outputs are equal
(integers and labels exactly, floats to 1e-9) and that the verdicts match.

With ``--rules-customers N`` (default 200,000; 0 leaves it out), ``segment
rules`` on each engine over a generated snapshot of N customers (20 yes/no
and 4 text columns, ``bench_rules.generate``), default options; the two
rules files must be byte-identical.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from bench_rfm import generate  # noqa: E402
from bench_spark_scale import equal, read  # noqa: E402
from bench_rules import generate as generate_snapshot  # noqa: E402

OUT = harness.OUT / "spark"
SPARK = ("--engine", "spark", "--spark-master", "local[2]", "--spark-conf", "spark.sql.shuffle.partitions=8",
         "--spark-conf", "spark.ui.enabled=false", "--spark-conf", "spark.driver.memory=2g")
STARTUP = """
from segment.spark import session
s = session("local[2]", [("spark.ui.enabled", "false")])
s.range(1).count()
s.stop()
"""


def check(paths: dict[str, Path], checks: harness.Checks, size: int) -> None:
    same, detail = equal(read(paths["polars"]), read(paths["spark"]), "customer_id")
    checks.add(f"{size:,} transactions: rfm equal on both engines", same, detail)
    va, vb = (json.loads(paths[k].read_text())["verdict"] for k in ("vjson_polars", "vjson_spark"))
    checks.add(f"{size:,} transactions: validate-segment verdicts equal", va == vb, f"{va} / {vb}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rules-customers", type=int, default=200_000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]  # --sizes "": rules only
    OUT.mkdir(parents=True, exist_ok=True)
    c = harness.Contender
    contenders, checks_of = [c("spark start-up (session, one job, stop)", harness.python(STARTUP), tree=True)], []
    for size in sizes:
        data = harness.cached("rfm_tx", generate, {"customers": size // 10, "transactions": size, "seed": 1})
        paths = {"polars": OUT / f"rfm-{size}-polars.parquet", "spark": OUT / f"rfm-{size}-spark.parquet",
                 "vjson_polars": OUT / f"validate-{size}-polars.json", "vjson_spark": OUT / f"validate-{size}-spark.json"}
        for p in paths.values():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        label = f"{size // 1_000_000}M"
        validate = ("--segment", "segment", "--outcome", "monetary,frequency", "-q")
        contenders += [
            c(f"rfm polars {label}", harness.segment("rfm", str(data), "-o", str(paths["polars"]), "-q"), tree=True),
            c(f"rfm spark {label}", harness.segment("rfm", str(data), "-o", str(paths["spark"]), "-q", *SPARK),
              tree=True),
            c(f"validate polars {label}", harness.segment("validate-segment", str(paths["polars"]), *validate,
                                                          "--json", str(paths["vjson_polars"]), "-o",
                                                          str(OUT / f"validate-{size}-polars.csv")),
              tree=True),
            c(f"validate spark {label}", harness.segment("validate-segment", str(paths["spark"]), *validate, *SPARK,
                                                         "--json", str(paths["vjson_spark"]), "-o",
                                                         str(OUT / f"validate-{size}-spark.csv")),
              tree=True),
        ]
        checks_of.append((paths, size))
    rules_out = {}
    if args.rules_customers:
        snap = harness.cached("rules_snapshot", generate_snapshot, {"customers": args.rules_customers, "items": 20,
                                                                    "categorical": 4, "seed": 1})
        for engine in ("polars", "spark"):
            rules_out[engine] = OUT / f"rules-{args.rules_customers}-{engine}.csv"
            rules_out[engine].unlink(missing_ok=True)
            contenders.append(c(f"rules {engine} {args.rules_customers // 1000}k",
                                harness.segment("rules", str(snap), "-o", str(rules_out[engine]), "-q",
                                                *(SPARK if engine == "spark" else ())), tree=True))
    # rfm runs before validate in each round (validate reads its output): the order is kept.
    results = harness.rounds(contenders, args.repeats, rotate=False)
    checks = harness.Checks()
    for paths, size in checks_of:
        check(paths, checks, size)
    if rules_out:
        same = rules_out["polars"].read_bytes() == rules_out["spark"].read_bytes()
        checks.add(f"{args.rules_customers:,} customers: rules files identical on both engines", same,
                   f"{pl.read_csv(rules_out['polars']).height:,} rules")
    ratios = []
    for size in sizes:
        label = f"{size // 1_000_000}M"
        for what, name in (("rfm", "rfm"), ("validate-segment", "validate")):
            ratios.append(f"{what} {label}: spark / polars "
                          f"{results.ratio(f'{name} spark {label}', f'{name} polars {label}').format(2, 'x')}")
    if rules_out:
        k = f"{args.rules_customers // 1000}k"
        ratio = results.ratio(f"rules spark {k}", f"rules polars {k}").format(2, "x")
        ratios.append(f"rules {k}: spark / polars {ratio}")
    commands = ("rfm, validate-segment" + (" and rules" if rules_out else "")) if sizes else "rules"
    name = f"spark_{args.sizes.replace(',', '_')}" if sizes else f"spark_rules_{args.rules_customers}"
    what = f"{args.sizes} transactions" if sizes else f"{args.rules_customers:,} customers"
    peer = f"rfm polars {sizes[-1] // 1_000_000}M" if sizes else f"rules polars {args.rules_customers // 1000}k"
    harness.report(name, f"`--engine spark` (local[2]) against `--engine polars`: {commands}, {what}", results,
                   peer=peer,
                   checks=checks,
                   notes="No target: both engines reported. " + "; ".join(ratios) + ". Spark is slower on this "
                         "2-core machine, as expected: the start-up row is its fixed cost (a JVM, Python workers), "
                         "which every Spark run pays before any work, and each command runs about a dozen small "
                         "Spark jobs.")


if __name__ == "__main__":
    main()
