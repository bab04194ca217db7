"""Benchmark ``segment cluster`` against plain hdbscan (run by hand, never by pytest).

    .venv/bin/python benchmarks/bench_cluster.py            # full run, about 20 minutes
    .venv/bin/python benchmarks/bench_cluster.py --n 200000 --default-n 50000   # quick look

Every contender runs as its own process under ``/usr/bin/time -v``, so the
numbers are whole-process wall time and peak resident memory (imports,
reading, preprocessing and writing included). Contenders:

- ``segment cluster`` with its defaults on N customers (median of --repeats runs);
- plain hdbscan, ``min_samples=10``, on all N customers: the full fit that
  sample-and-assign approximates (one run: it is slow);
- plain hdbscan with its default ``min_samples`` (= ``min_cluster_size``) at
  a size that fits safely in shared memory (--default-n), next to
  ``segment cluster`` and hdbscan ``min_samples=10`` at that size;
- the assignment step alone: hdbscan's ``approximate_predict`` against
  :class:`segment.cluster._assign.TreeAssigner` on the same fitted model;
- ``--fit-sample`` settings at --default-n, against the full fit.

Plain hdbscan gets exactly the matrix segment clusters on (same log1p and
robust scaling, rows in id order) and the same ``min_cluster_size`` (1 % of
customers), so only the clustering differs. Data: ``tests/blobs.planted``,
4 features, 6 planted clusters (one of 1.5 %), spreads x1.3, 5 % noise.
The script prints Markdown tables for docs/cluster.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
SEGMENT = [PY, "-m", "cli", "cluster"]


def generate(n: int, path: Path, seed: int) -> None:
    import numpy as np

    from tests.blobs import planted

    if path.exists():
        return
    frame, truth = planted(n, seed=seed, clusters=6, overlap=1.3, noise=0.05)
    frame.write_parquet(path)
    np.save(path.with_suffix(".truth.npy"), truth)


def _tree_rss_kb(root: int) -> int:
    """Summed resident memory of *root* and all its descendants (loky workers included)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as fh:
                kb = next((int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = kb
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(cmd: list[str]) -> dict[str, float]:
    """Wall and CPU seconds, peak RSS of the main process (GNU time) and of its whole tree (sampled)."""
    proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.2)
    err = proc.stderr.read()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
    h, m, s = wall.groups()  # type: ignore[union-attr]
    field = lambda label: float(re.search(label + r": ([\d.]+)", err).group(1))  # type: ignore[union-attr]  # noqa: E731
    return {"wall": int(h or 0) * 3600 + int(m) * 60 + float(s),
            "cpu": field(r"User time \(seconds\)") + field(r"System time \(seconds\)"),
            "rss": field(r"Maximum resident set size \(kbytes\)") / 1024,
            "tree_rss": max(peak, field(r"Maximum resident set size \(kbytes\)")) / 1024}


def repeat(cmd: list[str], times: int) -> dict[str, float | list[float]]:
    runs = [measure(cmd) for _ in range(times)]
    out: dict[str, float | list[float]] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["walls"] = [r["wall"] for r in runs]
    return out


# ---------------------------------------------------------------- subcommands run as contenders


def plain(data: str, min_samples: int | None, labels_out: str) -> None:
    """Plain hdbscan on segment's own feature matrix; labels saved in id order."""
    import hdbscan
    import numpy as np
    import polars as pl

    from segment.cluster._cluster import default_min_cluster_size
    from segment.cluster._features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    model = hdbscan.HDBSCAN(min_cluster_size=default_min_cluster_size(x.shape[0]), min_samples=min_samples)
    np.save(labels_out, model.fit(x).labels_)


def assign(data: str, fit_rows: int, points: int, result_out: str) -> None:
    """approximate_predict vs TreeAssigner on one model (fit as segment does, on a sample)."""
    import hdbscan
    import numpy as np
    import polars as pl
    from hdbscan.prediction import approximate_predict

    from segment.cluster._cluster import default_min_cluster_size
    from segment.cluster._assign import TreeAssigner
    from segment.cluster._features import prepare

    _, feats = prepare(pl.scan_parquet(data))
    x = feats.matrix
    rng = np.random.default_rng(0)
    rows = rng.permutation(x.shape[0])
    fit, new = x[np.sort(rows[:fit_rows])], x[rows[fit_rows:fit_rows + points]]
    size = round(default_min_cluster_size(x.shape[0]) * fit_rows / x.shape[0])
    model = hdbscan.HDBSCAN(min_cluster_size=size, min_samples=10, core_dist_n_jobs=1,
                            prediction_data=True).fit(fit)
    w, c = time.perf_counter(), time.process_time()
    ref, _ = approximate_predict(model, new)
    t_ref = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c}
    w, c = time.perf_counter(), time.process_time()
    ours, _, _ = TreeAssigner(model, fit).assign(new)
    t_ours = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c}
    Path(result_out).write_text(json.dumps({"approximate_predict": t_ref, "tree_assigner": t_ours,
                                            "identical": float((ref == ours).mean()), "points": points,
                                            "fit_rows": fit_rows}))


# ---------------------------------------------------------------- the run


def labels_of(source) -> "np.ndarray":
    """Cluster labels from a segment output (.parquet), a saved array (.npy) or an array."""
    import numpy as np
    import polars as pl

    if isinstance(source, Path):
        return pl.read_parquet(source)["cluster"].to_numpy() if source.suffix == ".parquet" else np.load(source)
    return source


def ari(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(labels_of(a), labels_of(b)))


def truth_ari(source, data: Path) -> float:
    """ARI against the planted clusters, over customers that are not planted noise."""
    import numpy as np
    import polars as pl

    frame = pl.read_parquet(data, columns=["customer_id"])
    truth = np.load(data.with_suffix(".truth.npy"))[np.argsort(frame["customer_id"].to_numpy())]
    return ari(truth[truth >= 0], labels_of(source)[truth >= 0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--default-n", type=int, default=100_000,
                    help="size for hdbscan's default min_samples (200,000 peaked at 12.5 GB: not safe when shared)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--assign-points", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    big, small = out / f"customers_{args.n}.parquet", out / f"customers_{args.default_n}.parquet"
    generate(args.n, big, seed=2024)
    generate(args.default_n, small, seed=2025)
    me = [PY, __file__]
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    rows: list[tuple[str, int, dict, str]] = []

    def run(name: str, n: int, cmd: list[str], times: int = 1) -> dict:
        log(f"{name}, n={n:,} x{times}")
        m = repeat(cmd, times) if times > 1 else measure(cmd)
        note = (f"median of {times}: " + ", ".join(f"{x:.1f}" for x in m["walls"])) if times > 1 else "1 run"
        rows.append((name, n, m, note))
        return m

    # 1. Large N: segment cluster (repeated) vs the full min_samples=10 fit (once).
    seg_big, full_big = out / "segment_big.parquet", out / "plain10_big.npy"
    seg = run("segment cluster (defaults)", args.n, [*SEGMENT, str(big), "-o", str(seg_big), "-q"], args.repeats)
    p10 = run("plain hdbscan, min_samples=10", args.n, [*me, "plain", str(big), "10", str(full_big)])
    # 2. Safe size: hdbscan defaults next to min_samples=10 and segment.
    seg_small, full_small, dflt_small = (out / "segment_small.parquet", out / "plain10_small.npy",
                                         out / "plaindefault_small.npy")
    seg_s = run("segment cluster (defaults)", args.default_n,
                [*SEGMENT, str(small), "-o", str(seg_small), "-q"], args.repeats)
    p10_s = run("plain hdbscan, min_samples=10", args.default_n, [*me, "plain", str(small), "10", str(full_small)])
    dflt = run("plain hdbscan, defaults (min_samples = min_cluster_size)", args.default_n,
               [*me, "plain", str(small), "none", str(dflt_small)])
    # 3. The assignment step alone, same model, same process.
    log("approximate_predict vs TreeAssigner")
    res = out / "assign.json"
    fit_rows = min(50_000, args.n // 2)
    measure([*me, "assign", str(big), str(fit_rows), str(min(args.assign_points, args.n - fit_rows)), str(res)])
    a = json.loads(res.read_text())
    # 4. --fit-sample at the safe size, against the full fit there.
    sweep = []
    for fs in (10_000, 25_000, 50_000):
        if fs < args.default_n:
            path = out / f"segment_fs{fs}.parquet"
            log(f"segment cluster --fit-sample {fs:,}, n={args.default_n:,}")
            m = measure([*SEGMENT, str(small), "-o", str(path), "-q", "--fit-sample", str(fs)])
            sweep.append((fs, m, ari(path, full_small), truth_ari(path, small)))

    print(f"### segment cluster benchmark ({datetime.date.today().isoformat()})\n")
    print("Machine: 2 cores, 24 GiB RAM, shared with four other agents working at the same time: wall "
          "times are noisy (CPU seconds less so); ratios compare contenders measured in the same run. "
          "Peak RSS is the main process (GNU time); tree RSS adds worker processes (sampled every 0.2 s).\n")
    print("| contender | customers | wall s | CPU s | peak RSS MB | tree RSS MB | runs |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, n, m, note in rows:
        print(f"| {name} | {n:,} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss']:,.0f} | {m['tree_rss']:,.0f} | {note} |")
    print()
    print("| comparison | value |")
    print("|---|---:|")
    print(f"| wall, plain hdbscan min_samples=10 / segment, {args.n:,} | {p10['wall'] / seg['wall']:.1f}x |")
    print(f"| tree RSS, plain hdbscan min_samples=10 / segment, {args.n:,} | "
          f"{p10['tree_rss'] / seg['tree_rss']:.1f}x |")
    print(f"| wall, plain hdbscan defaults / segment, {args.default_n:,} | {dflt['wall'] / seg_s['wall']:.1f}x |")
    print(f"| tree RSS, plain hdbscan defaults / segment, {args.default_n:,} | "
          f"{dflt['tree_rss'] / seg_s['tree_rss']:.1f}x |")
    print(f"| ARI segment vs full fit (min_samples=10), {args.n:,} | {ari(seg_big, full_big):.4f} |")
    print(f"| ARI segment vs full fit (min_samples=10), {args.default_n:,} | {ari(seg_small, full_small):.4f} |")
    print(f"| ARI segment vs hdbscan defaults, {args.default_n:,} | {ari(seg_small, dflt_small):.4f} |")
    print(f"| ARI full fit min_samples=10 vs hdbscan defaults, {args.default_n:,} | "
          f"{ari(full_small, dflt_small):.4f} |")
    print(f"| ARI vs planted truth (non-noise): segment / full fit, {args.n:,} | "
          f"{truth_ari(seg_big, big):.4f} / {truth_ari(full_big, big):.4f} |")
    print()
    print(f"Assignment of {a['points']:,} customers to one model fitted on {a['fit_rows']:,} "
          "(same process; TreeAssigner time includes building its KD-tree):\n")
    print("| method | wall s | CPU s | CPU us per customer | labels identical |")
    print("|---|---:|---:|---:|---:|")
    for key, name in (("approximate_predict", "hdbscan approximate_predict"), ("tree_assigner", "TreeAssigner")):
        same = f"{a['identical']:.4%}" if key == "tree_assigner" else ""
        print(f"| {name} | {a[key]['wall']:.2f} | {a[key]['cpu']:.2f} | "
              f"{a[key]['cpu'] / a['points'] * 1e6:.1f} | {same} |")
    print(f"| ratio (CPU) | | {a['approximate_predict']['cpu'] / a['tree_assigner']['cpu']:.0f}x | | |")
    print()
    print(f"`--fit-sample` at {args.default_n:,} customers (one run each):\n")
    print("| fit sample | wall s | CPU s | peak RSS MB | ARI vs full fit | ARI vs truth (non-noise) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for fs, m, a_full, a_truth in sweep:
        print(f"| {fs:,} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss']:,.0f} | {a_full:.4f} | {a_truth:.4f} |")
    print(f"| all {args.default_n:,} (plain hdbscan, min_samples=10) | {p10_s['wall']:.1f} | {p10_s['cpu']:.1f} | "
          f"{p10_s['rss']:,.0f} | 1 | {truth_ari(full_small, small):.4f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "plain":
        plain(sys.argv[2], None if sys.argv[3] == "none" else int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "assign":
        assign(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
