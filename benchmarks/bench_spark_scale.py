"""Benchmark: how each engine's cost grows with rows: rfm and lifecycle at 1M, 10M and 100M rows.

    .venv/bin/python benchmarks/bench_spark_scale.py [--sizes 1000000,10000000,100000000]
        [--commands rfm,lifecycle] [--repeats 1]
    .venv/bin/python benchmarks/bench_spark_scale.py --summary   # rebuild results/spark_scale.md

Issue 23 asks for ``--engine polars`` against ``--engine spark`` in
``local[2]`` on this 2-core machine, at 1M, 10M and 100M generated rows:
wall time, the driver's and the executors' peak memory, and the growth of
cost with rows (Spark must scale linearly and must never collect
per-customer rows to the driver).

Rows: for rfm, transactions (customers = rows / 10, the generator of
``bench_rfm``); for lifecycle, customer-months of a ``segment synth`` panel
over 24 months (customers = rows / 18: lines activated or cancelled inside
the window have fewer months, about 18 on average, so the panel holds about
the label's rows; the report gives the exact count).

Memory per role, sampled every 0.1 s over the process tree: the driver's
Python process (``segment`` itself), the JVM (in ``local`` mode the Spark
driver and its executors are one JVM, so its peak is the sum of both; on a
cluster the driver JVM holds only plans and the small tables), and the
executors' Python workers (``mapInArrow`` steps). Every Spark run sets
``spark.driver.maxResultSize=64m``: a step that collected per-customer rows
to the driver would fail the run at 100M rows rather than pass unnoticed.
CPU seconds include the JVM's (sampled from ``/proc``).

Each size is one harness run (round-robin, per-round ratios, spark over
polars of the same command in the same round); ``--summary`` puts the sizes
side by side with the growth factor per tenfold rows, and the cost per
million rows once Spark's measured start-up is taken off.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from bench_lifecycle import COLUMNS  # noqa: E402
from bench_rfm import generate  # noqa: E402

OUT = harness.OUT / "spark_scale"
STARTUP = """
from segment.spark import session
s = session("local[2]", [("spark.ui.enabled", "false")])
s.range(1).count()
s.stop()
"""
ROLES = ("driver: Python (segment)", "driver + executors: JVM", "executors: Python workers")


def role(cmd: str) -> str:
    """The part of a Spark run a process plays (GNU time's own few MiB go with the driver)."""
    if "java" in cmd.split(" ", 1)[0]:
        return ROLES[1]
    if "pyspark.daemon" in cmd or "pyspark.worker" in cmd:
        return ROLES[2]
    return ROLES[0]


def spark_options(rows: int, events: Path) -> tuple[str, ...]:
    # About 2M rows per shuffle partition (at least 8): each partition a few hundred MB at most.
    partitions = max(8, rows // 2_000_000)
    # In local mode the one JVM holds the driver and both executors' tasks. At 100M panel rows a 4g heap ran
    # out while caching the coded lifecycle panel (two tasks unrolling blocks of ~2M rows at once): 8g there.
    heap = "8g" if rows > 20_000_000 else "4g"
    conf = {"spark.sql.shuffle.partitions": partitions, "spark.ui.enabled": "false", "spark.driver.memory": heap,
            "spark.driver.maxResultSize": "64m", "spark.local.dir": str(OUT / "spark-local"),
            # The event log gives what the capacity plan (docs/spark.md) needs per row: shuffle bytes,
            # task CPU, peak execution memory. Uncompressed, so no codec is needed to read it.
            "spark.eventLog.enabled": "true", "spark.eventLog.dir": events.as_uri(),
            "spark.eventLog.compress": "false", "spark.eventLog.rolling.enabled": "false"}
    return ("--engine", "spark", "--spark-master", "local[2]",
            *[a for k, v in conf.items() for a in ("--spark-conf", f"{k}={v}")])


def event_totals(events: Path) -> dict[str, float]:
    """Totals over one Spark application's event log: jobs, tasks, input, shuffle, spill, task CPU, peak memory."""
    logs = [p for p in events.iterdir() if p.is_file() and not p.name.endswith(".inprogress")]
    if len(logs) != 1:
        raise RuntimeError(f"expected one Spark event log in {events}, found {len(logs)}")
    total = {"jobs": 0, "tasks": 0, "input_mb": 0.0, "shuffle_write_mb": 0.0, "spill_disk_mb": 0.0,
             "task_cpu_s": 0.0, "task_run_s": 0.0, "gc_s": 0.0, "peak_task_memory_mb": 0.0}
    with logs[0].open() as fh:
        for line in fh:
            event = json.loads(line)
            kind = event["Event"]
            if kind == "SparkListenerJobStart":
                total["jobs"] += 1
            elif kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
                m = event["Task Metrics"]
                total["tasks"] += 1
                total["input_mb"] += m["Input Metrics"]["Bytes Read"] / 2**20
                total["shuffle_write_mb"] += m["Shuffle Write Metrics"]["Shuffle Bytes Written"] / 2**20
                total["spill_disk_mb"] += m["Disk Bytes Spilled"] / 2**20
                total["task_cpu_s"] += m["Executor CPU Time"] / 1e9
                # Run time includes the Python workers' part of a mapInArrow task; the JVM's CPU time does not.
                total["task_run_s"] += m["Executor Run Time"] / 1e3
                total["gc_s"] += m["JVM GC Time"] / 1e3
                total["peak_task_memory_mb"] = max(total["peak_task_memory_mb"], m["Peak Execution Memory"] / 2**20)
    return total


def synth_panel(path: Path, customers: int, months: int, seed: int) -> None:
    subprocess.run(harness.segment("synth", "--customers", str(customers), "--months", str(months), "--seed",
                                   str(seed), "--tables", "panel", "--out", str(path), "-q"), check=True)


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"


def read(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path / "*.parquet" if path.is_dir() else path)


def equal(a: pl.DataFrame, b: pl.DataFrame, key: str) -> tuple[bool, str]:
    """Same rows and columns; integers and labels exactly, floats to 1e-9 relative."""
    a, b = a.sort(key), b.select(a.columns).sort(key)
    if a.height != b.height:
        return False, f"{a.height:,} against {b.height:,} rows"
    for c in a.columns:
        if a[c].dtype.is_float():
            scale = max(1.0, float(a[c].abs().max() or 0))
            if float((a[c] - b[c].cast(a[c].dtype)).abs().max() or 0) > 1e-9 * scale:
                return False, f"column {c} differs"
        elif not a[c].cast(pl.String).equals(b[c].cast(pl.String)):
            return False, f"column {c} differs"
    return True, f"{a.height:,} customers, {len(a.columns)} columns"


def run_size(rows: int, commands: list[str], repeats: int) -> None:
    c = harness.Contender
    name = label(rows)
    contenders = [c("spark start-up (session, one job, stop)", harness.python(STARTUP), tree=True, roles=role)]
    outputs: list[tuple[str, Path, Path, str]] = []
    facts: list[str] = []
    for command in commands:
        if command == "rfm":
            data = harness.cached("rfm_tx", generate, {"customers": rows // 10, "transactions": rows, "seed": 1})
            argv, key = ("rfm", str(data)), "customer_id"
            facts.append(f"rfm: {rows:,} transactions, {rows // 10:,} customers (`bench_rfm.generate`, seed 1)")
        else:
            folder = harness.cached("synth_panel", synth_panel, {"customers": rows // 18, "months": 24, "seed": 1},
                                    code=[harness.ROOT / "segment" / "synth", harness.ROOT / "cli" / "synth.py"],
                                    suffix="")
            panel = folder / "panel.parquet"
            n = pl.scan_parquet(panel).select(pl.len()).collect().item()
            argv, key = ("lifecycle", str(panel), *COLUMNS), "customer_id"
            facts.append(f"lifecycle: {n:,} customer-months, {rows // 18:,} customers "
                         f"(`segment synth --months 24 --seed 1 --tables panel`)")
        polars_out, spark_out = OUT / f"{command}-{rows}-polars.parquet", OUT / f"{command}-{rows}-spark.parquet"
        events = OUT / "events" / f"{command}-{rows}"
        for p in (polars_out, spark_out, events):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        events.mkdir(parents=True)
        spark = spark_options(rows, events)
        contenders += [c(f"{command} polars {name}", harness.segment(*argv, "-o", str(polars_out), "-q"), tree=True,
                         roles=role),
                       c(f"{command} spark {name}", harness.segment(*argv, "-o", str(spark_out), "-q", *spark),
                         tree=True, roles=role)]
        outputs.append((command, polars_out, spark_out, key, events))
    results = harness.rounds(contenders, repeats)
    checks = harness.Checks()
    totals: dict[str, dict[str, float]] = {}
    spark_work = ["| contender | jobs | tasks | input MB | shuffle written MB | spilled to disk MB | task time s | "
                  "task JVM CPU s | JVM GC s | largest task's peak execution memory MB |", "| --- |" + " ---: |" * 9]
    for command, polars_out, spark_out, key, events in outputs:
        ok, detail = equal(read(polars_out), read(spark_out), key)
        checks.add(f"{command} {name}: both engines write the same table", ok, detail)
        if repeats == 1:  # the log of the one Spark run (with more rounds, one log per round would be needed)
            t = event_totals(events)
            totals[command] = t
            spark_work.append(f"| {command} spark {name} | {t['jobs']:.0f} | {t['tasks']:.0f} | {t['input_mb']:,.0f} | "
                              f"{t['shuffle_write_mb']:,.0f} | {t['spill_disk_mb']:,.0f} | {t['task_run_s']:,.1f} | "
                              f"{t['task_cpu_s']:,.1f} | "
                              f"{t['gc_s']:,.1f} | {t['peak_task_memory_mb']:,.0f} |")
    work = ("\n\nSpark's own account of the work (event log):\n\n" + "\n".join(spark_work)
            if len(spark_work) > 2 else "")
    ratios = [f"{command} spark / polars "
              + results.ratio(f"{command} spark {name}", f"{command} polars {name}").format(2, "x")
              for command in commands]
    parts = ["| contender | " + " | ".join(ROLES) + " |", "| --- |" + " ---: |" * len(ROLES)]
    for contender in results.runs:
        peaks = [harness.Spread.of([r.parts.get(k, 0.0) for r in results.runs[contender]]).format(0)
                 for k in ROLES]
        parts.append(f"| {contender} | " + " | ".join(peaks) + " |")
    # Saved beside the harness's record, for the capacity plan (--summary).
    (harness.RESULTS / f"spark_scale_{'-'.join(commands)}_{rows}.events.json").write_text(
        json.dumps(totals, indent=1) + "\n")
    harness.report(f"spark_scale_{'-'.join(commands)}_{rows}", f"Engines at scale: {', '.join(commands)} at {name} rows, polars and "
                   "spark local[2]", results, peer=f"{commands[0]} polars {name}", checks=checks,
                   notes="Data: " + "; ".join(facts) + ". Spark conf: `" + " ".join(spark_options(rows, OUT / "events" / "COMMAND-ROWS")[4:]) + "`.\n\n"
                         "Per-round ratios: " + "; ".join(ratios) + ".\n\nPeak resident memory (MiB) by role:\n\n"
                         + "\n".join(parts) + work + "\n")


def summary() -> str:
    """All sizes side by side (from the saved runs): wall, memory by role, growth per tenfold rows.

    A command measured in several saved runs at one size is taken from the latest; its Spark start-up
    is the one measured in the same run.
    """
    latest: dict[tuple[str, str, int], tuple[str, list[dict], float, dict]] = {}
    for path in harness.RESULTS.glob("spark_scale_*_*.json"):
        if path.name.endswith(".events.json"):
            continue
        record = json.loads(path.read_text())
        rows = int(record["bench"].rsplit("_", 1)[1])
        startup = harness.Spread.of([r["wall"] for r in record["runs"]["spark start-up (session, one job, stop)"]])
        for name, runs in record["runs"].items():
            if name.startswith("spark start-up"):
                continue
            command, engine, _ = name.split(" ")
            key = (command, engine, rows)
            if key not in latest or latest[key][0] < record["started"]:
                latest[key] = (record["started"], runs, startup.median, record)
    if not latest:
        raise SystemExit("no saved runs: run benchmarks/bench_spark_scale.py first")

    def med(runs: list[dict], key: str, part: str | None = None) -> float:
        return harness.Spread.of([(r["parts"].get(part, 0.0) if part else r[key]) for r in runs]).median

    lines = ["| command | engine | rows | rounds | wall s | CPU s | peak RSS MiB (all) | driver Python MiB | "
             "JVM MiB | Python workers MiB | wall / previous size | s per 1M rows after start-up |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    previous: dict[tuple[str, str], float] = {}
    runs_seen: dict[str, str] = {}
    for (command, engine, rows), (started, runs, startup, record) in sorted(latest.items()):
        wall = med(runs, "wall")
        grown = previous.get((command, engine))
        net = (wall - (startup if engine == "spark" else 0.0)) / (rows / 1e6)
        lines.append(f"| {command} | {engine} | {rows:,} | {len(runs)} | {wall:.1f} | {med(runs, 'cpu'):.1f} | "
                     f"{med(runs, 'rss'):,.0f} | {med(runs, '', ROLES[0]):,.0f} | {med(runs, '', ROLES[1]):,.0f} | "
                     f"{med(runs, '', ROLES[2]):,.0f} | {f'{wall / grown:.1f}x' if grown else '-'} | {net:.2f} |")
        previous[(command, engine)] = wall
        loads = harness.Spread.of([x["load"] for v in record["runs"].values() for x in v]).format(1)
        runs_seen[record["bench"]] = f"`{record['bench']}` {started}, load {loads}"
    machine = next(iter(latest.values()))[3]["machine"]
    text = ("### Engines at scale: rfm and lifecycle, polars and spark local[2]\n\n"
            + "\n".join(lines) + "\n\nRuns (start, 1-minute load average): " + "; ".join(sorted(runs_seen.values()))
            + f". {machine}. Per-run details, checks that both engines wrote the same table, and per-round ratios: "
            "`benchmarks/results/<run>.md`. The last column takes off the Spark start-up measured in the same run "
            "(polars: nothing).\n")
    text += ("\n#### Capacity plan (docs/spark.md)\n\n" + plan() + "\n")
    (harness.RESULTS / "spark_scale.md").write_text(text)
    return text


#: The planned workload (docs/spark.md): 100M customers, 10 transactions each, and 24 monthly rows each.
PLAN_ROWS = {"rfm": 1_000_000_000, "lifecycle": 2_400_000_000}
PLAN_SLOTS = 200  # 50 executors x 4 cores


def plan() -> str:
    """The capacity plan for :data:`PLAN_ROWS` on :data:`PLAN_SLOTS` task slots, from the largest measured run.

    Scaled from Spark's task metrics: task time (which includes the Python
    workers' share of a ``mapInArrow`` task) and shuffle bytes per row; the
    measured run's wall time over its task time per slot (how well the 2
    slots were kept busy, start-up taken off) carries over as the efficiency; the
    largest task's peak execution memory and the Python workers' peak per
    worker give the executor's memory for the same rows per task.
    """
    lines = ["| command | rows planned | measured at | task s per 1M rows | shuffle MB per 1M rows | "
             "task time total (h) | wall on 200 slots (min) | shuffle total (GB) | largest task's execution memory "
             "(MB) | Python worker peak (MB) |", "| --- |" + " ---: |" * 9]
    for command, planned in PLAN_ROWS.items():
        best = None
        for path in harness.RESULTS.glob("spark_scale_*_*.events.json"):
            rows = int(path.name.split(".")[0].rsplit("_", 1)[1])
            totals = json.loads(path.read_text())
            if command in totals and (best is None or rows > best[0]):
                record = json.loads(path.with_name(path.name.replace(".events.json", ".json")).read_text())
                best = (rows, totals[command], record)
        if best is None:
            continue
        rows, t, record = best
        runs = record["runs"][f"{command} spark {label(rows)}"]
        startup = harness.Spread.of([r["wall"] for r in record["runs"]["spark start-up (session, one job, stop)"]])
        wall = harness.Spread.of([r["wall"] for r in runs]).median - startup.median
        workers = harness.Spread.of([r["parts"].get(ROLES[2], 0.0) for r in runs]).median / 2
        efficiency = wall / (t["task_run_s"] / 2)  # time the 2 slots were not busy with tasks, as a factor
        cpu_per_m = t["task_run_s"] / (rows / 1e6)
        total_cpu = cpu_per_m * planned / 1e6
        lines.append(f"| {command} | {planned:,} | {rows:,} | {cpu_per_m:.2f} | "
                     f"{t['shuffle_write_mb'] / (rows / 1e6):.1f} | {total_cpu / 3600:.1f} | "
                     f"{(startup.median + total_cpu / PLAN_SLOTS * efficiency) / 60:.0f} | "
                     f"{t['shuffle_write_mb'] / (rows / 1e6) * planned / 1e6 / 1024:,.0f} | "
                     f"{t['peak_task_memory_mb']:,.0f} | {workers:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000,100000000")
    ap.add_argument("--commands", default="rfm,lifecycle")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--summary", action="store_true", help="only rebuild results/spark_scale.md")
    args = ap.parse_args()
    if not args.summary:
        OUT.mkdir(parents=True, exist_ok=True)
        for rows in map(int, args.sizes.split(",")):
            run_size(rows, args.commands.split(","), args.repeats)
    print(summary())


if __name__ == "__main__":
    main()
