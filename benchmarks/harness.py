"""The one harness behind every benchmark: whole processes, round-robin, paired ratios.

Each contender runs as a process of its own, so start-up, imports, reading
and writing count, as they do for an analyst. The machine is shared and its
load changes from minute to minute, so contenders run round-robin (every
contender once per round, the starting contender rotating) and each round's
runs are *paired*: a ratio is taken per round, and the verdict is the median
of those per-round ratios, shown with their min-max. Dividing one median by
another would pair a run from a quiet minute with one from a busy minute.
Memory (peak resident set) is reported the same way.

Generated data are cached under ``benchmarks/out/data`` by a key made of the
generator's parameters and the source of the code that generates them, so a
changed generator never reuses stale data.

Examples
--------
>>> Spread.of([2.0, 1.0, 3.0])
Spread(median=2.0, lo=1.0, hi=3.0)
>>> per_round([2.0, 4.0, 3.0], [1.0, 4.0, 1.0])  # contender over peer, round by round
Spread(median=2.0, lo=1.0, hi=3.0)
>>> verdict(Spread.of([1.9, 2.3, 1.8]), 2.0, at_most=True)
'met'
>>> verdict(Spread.of([2.1, 2.3, 1.8]), 2.0, at_most=True)
'missed (2.10)'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import inspect
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results"
VERSIONS = ("polars", "numpy", "scipy", "pandas", "pyarrow", "hdbscan", "scikit-learn", "mlxtend", "lifetimes",
            "pyfim")


# ---------------------------------------------------------------- arithmetic


@dataclass(frozen=True)
class Spread:
    """Median of some values with their min and max."""

    median: float
    lo: float
    hi: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values to summarise")
        return cls(statistics.median(values), min(values), max(values))

    def format(self, digits: int = 2, unit: str = "") -> str:
        """``2.13x (1.90-2.40)``: the median and, if they differ, the range."""
        med = f"{self.median:,.{digits}f}{unit}"
        lo, hi = f"{self.lo:,.{digits}f}", f"{self.hi:,.{digits}f}"
        return med if lo == hi else f"{med} ({lo}-{hi})"


def per_round(numerator: Sequence[float], denominator: Sequence[float]) -> Spread:
    """Ratios ``numerator[i] / denominator[i]`` of runs from the same round, summarised.

    Both sequences are indexed by round; a round where either run is missing
    (``None``) is left out, never paired with another round.
    """
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} runs against {len(denominator)}: ratios need the same rounds")
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True) if a is not None and b is not None]
    return Spread.of(ratios)


def verdict(measured: Spread, limit: float, *, at_most: bool) -> str:
    """``met`` when the median meets the limit, else ``missed (median)``."""
    ok = measured.median <= limit if at_most else measured.median >= limit
    return "met" if ok else f"missed ({measured.median:.2f})"


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    """One whole-process run: wall and CPU seconds, peak RSS in MiB, load when it started.

    ``parts``: peak RSS in MiB of each role of the process tree (a contender
    with ``roles``), each role's own peak.
    """

    wall: float
    cpu: float
    rss: float
    load: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class Contender:
    """A command to time. ``tree``: memory is the summed PSS (RSS with shared pages split) of the process and its children
    (sampled), for commands whose work happens in worker processes."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    tree: bool = False
    #: With ``tree``: names a process's role from its command line (e.g. Spark's JVM, its Python
    #: workers, the driver), so that each role's peak memory is reported on its own.
    roles: Callable[[str], str] | None = None


@dataclass
class _Sample:
    """One look at a process tree: each member's memory (KiB, PSS), CPU ticks so far, command line."""

    rss: dict[int, int]
    ticks: dict[int, int]
    cmd: dict[int, str]


def _tree(root: int) -> _Sample:
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parent[int(entry)] = int(fields[1])
            # utime + stime of the process itself; a reaped child's time would also be in its parent's cutime.
            ticks[int(entry)] = int(fields[11]) + int(fields[12])
            with open(f"/proc/{entry}/statm") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, ValueError, IndexError):
            continue
    members, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in members:
                members.add(child)
                frontier.append(child)
    cmd = {}
    for pid in members:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd[pid] = fh.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
            rss[pid] = _pss_kib(pid, rss.get(pid, 0))
        except OSError:
            cmd[pid] = ""
    return _Sample({p: rss.get(p, 0) for p in members}, {p: ticks.get(p, 0) for p in members}, cmd)


def _pss_kib(pid: int, fallback: int) -> int:
    """Proportional set size: pages shared with other processes count once in the sum.

    A process forked by a large one (the JVM running ``chmod`` for Hadoop's
    local file system, say) has, until it execs, the parent's whole resident
    set: summed RSS counted the JVM twice, and put the copy under the child's role.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return fallback


def measure(contender: Contender) -> Run:
    """Run *contender* once under GNU time; raise if it fails.

    Not ``wait4`` on a child of this process: Linux keeps a process's
    high-water RSS across ``exec``, so a child forked from a large harness
    would report the harness's memory as its own. ``/usr/bin/time`` is small
    and forks the contender itself.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), **contender.env}
    load = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile("r") as usage, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M %U %S", "-o", usage.name, *contender.argv],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        peak_tree = 0
        parts: dict[str, int] = {}
        ticks: dict[int, int] = {}
        while contender.tree and proc.poll() is None:
            sample = _tree(proc.pid)
            peak_tree = max(peak_tree, sum(sample.rss.values()))
            ticks.update(sample.ticks)
            if contender.roles:
                now: dict[str, int] = {}
                for pid, kib in sample.rss.items():
                    role = contender.roles(sample.cmd[pid])
                    now[role] = now.get(role, 0) + kib
                for role, kib in now.items():
                    parts[role] = max(parts.get(role, 0), kib)
            time.sleep(0.1)
        code = proc.wait()
        wall = time.perf_counter() - start
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{contender.name} failed (exit {code}): {' '.join(contender.argv)}\n{tail}")
        max_kib, user, system = usage.read().split()[-3:]
    # GNU time counts only the children that were waited for; a JVM started by the contender and
    # left to exit on its own is not among them, so the sampled tree's CPU is taken when larger.
    cpu = max(float(user) + float(system), sum(ticks.values()) / os.sysconf("SC_CLK_TCK"))
    return Run(wall=wall, cpu=cpu, rss=max(int(max_kib), peak_tree) / 1024, load=load,
               parts={role: kib / 1024 for role, kib in sorted(parts.items())})


@dataclass
class Results:
    """Runs per contender, indexed by round."""

    runs: dict[str, list[Run]]
    started: str
    finished: str = ""

    @property
    def rounds(self) -> int:
        return len(next(iter(self.runs.values())))

    def walls(self, name: str) -> list[float]:
        return [r.wall for r in self.runs[name]]

    def rss(self, name: str) -> list[float]:
        return [r.rss for r in self.runs[name]]

    def values(self, name: str, metric: str) -> list[float]:
        return [getattr(r, metric) for r in self.runs[name]]

    def ratio(self, name: str, peer: str, metric: str = "wall") -> Spread:
        """Per-round ``name / peer``: how many times the peer's time (or memory)."""
        return per_round(self.values(name, metric), self.values(peer, metric))

    def speedup(self, name: str, slower: str) -> Spread:
        """Per-round ``slower / name``: how many times faster than *slower*."""
        return per_round(self.walls(slower), self.walls(name))

    def loads(self) -> Spread:
        return Spread.of([r.load for runs in self.runs.values() for r in runs])


def rounds(contenders: Sequence[Contender], repeats: int, *,
           run: Callable[[Contender], Run] = measure, log: Callable[[str], None] | None = None,
           rotate: bool = True) -> Results:
    """Run every contender once per round, *repeats* rounds.

    The contender that starts a round rotates, so that no contender always
    follows the same neighbour (whose file cache or memory it could inherit).
    ``rotate=False`` keeps the given order, for contenders that read an
    earlier one's output.
    """
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError(f"contender names must be unique: {names}")
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    results = Results({c.name: [] for c in contenders}, started=_now())
    for r in range(repeats):
        shift = r % len(contenders) if rotate else 0
        for c in [*contenders[shift:], *contenders[:shift]]:
            one = run(c)
            results.runs[c.name].append(one)
            log(f"  round {r + 1}/{repeats} {c.name}: {one.wall:.2f} s, {one.rss:,.0f} MiB, load {one.load:.1f}")
    results.finished = _now()
    return results


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def python(code: str, *args: str) -> list[str]:
    """argv that runs *code* in this interpreter."""
    return [sys.executable, "-c", code, *args]


def segment(*args: str) -> list[str]:
    return [str(BIN / "segment"), *args]


# ---------------------------------------------------------------- targets and agreement


@dataclass(frozen=True)
class Target:
    """A target from the issues and how to measure it.

    kind ``ratio``: contender / peer at most *limit* (per round);
    ``speedup``: peer / contender at least *limit* (per round);
    ``absolute``: the contender's own median at most *limit* (seconds or MiB).
    """

    label: str
    kind: str
    contender: str
    limit: float
    peer: str | None = None
    metric: str = "wall"

    def measure(self, results: Results) -> Spread:
        if self.kind == "ratio":
            return results.ratio(self.contender, self.peer or "", self.metric)
        if self.kind == "speedup":
            return results.speedup(self.contender, self.peer or "")
        if self.kind == "absolute":
            return Spread.of(results.values(self.contender, self.metric))
        raise ValueError(f"unknown target kind {self.kind!r}")

    def verdict(self, results: Results) -> str:
        return verdict(self.measure(results), self.limit, at_most=self.kind != "speedup")

    def shown(self, results: Results) -> str:
        m = self.measure(results)
        if self.kind == "absolute":
            return m.format(1 if self.metric == "wall" else 0, " s" if self.metric == "wall" else " MiB")
        return m.format(2, "x")


@dataclass
class Checks:
    """Whether contenders' outputs agree where they are comparable."""

    items: list[tuple[str, bool | None, str]] = field(default_factory=list)

    def note(self, label: str, detail: str) -> None:
        """A comparison worth showing that is not pass/fail (different parameters, say)."""
        self.items.append((label, None, detail))

    def add(self, label: str, ok: bool, detail: str = "") -> None:
        self.items.append((label, bool(ok), detail))
        print(f"  check {'ok' if ok else 'FAILED'}: {label} {detail}", file=sys.stderr, flush=True)

    @property
    def ok(self) -> bool:
        return all(ok is not False for _, ok, _ in self.items)

    def markdown(self) -> str:
        mark = {True: "agree: ", False: "DISAGREE: ", None: ""}
        return "\n".join(f"- {mark[ok]}{label}{f' ({detail})' if detail else ''}" for label, ok, detail in self.items)


# ---------------------------------------------------------------- report


def machine() -> str:
    cpu = platform.machine()
    try:
        model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = f"{cpu} ({model.group(1).strip()})" if model else cpu
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        return f"{cpu}, {os.cpu_count()} cores, {kib / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        return f"{cpu}, {os.cpu_count()} cores"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in VERSIONS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def table(results: Results, peer: str) -> str:
    """Markdown: each contender's seconds and memory, and its per-round ratios to *peer*."""
    lines = ["| contender | wall s | CPU s | peak RSS MiB | wall / peer (per round) | RSS / peer (per round) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in results.runs:
        wall = Spread.of(results.walls(name)).format(2)
        cpu = Spread.of(results.values(name, "cpu")).median
        rss = Spread.of(results.rss(name)).format(0)
        if name == peer:
            lines.append(f"| {name} (peer) | {wall} | {cpu:.1f} | {rss} | 1 | 1 |")
            continue
        lines.append(f"| {name} | {wall} | {cpu:.1f} | {rss} | {results.ratio(name, peer).format(2, 'x')} | "
                     f"{results.ratio(name, peer, 'rss').format(2, 'x')} |")
    return "\n".join(lines)


def render(record: dict[str, Any]) -> str:
    """The Markdown report of a saved run (``benchmarks/results/<bench>.json``)."""
    results = Results({k: [Run(**r) for r in v] for k, v in record["runs"].items()}, record["started"],
                      record["finished"])
    parts = [f"### {record['title']}", "",
             f"{results.started} to {results.finished}; {results.rounds} rounds round-robin; "
             f"1-minute load average at the start of each run {results.loads().format(1)}. "
             f"{record['machine']}; {record['versions']}.", "",
             table(results, record["peer"])]
    if record["targets"]:
        parts += ["", "| target | measured: median of per-round values (min-max) | verdict |", "| --- | --- | --- |"]
        parts += [f"| {t['label']} | {t['shown']} | {t['verdict']} |" for t in record["targets"]]
    if record["checks"]:
        checks = Checks([(c["label"], c["ok"], c["detail"]) for c in record["checks"]])
        parts += ["", "Outputs:", "", checks.markdown()]
    if record.get("notes"):
        parts += ["", record["notes"]]
    return "\n".join(parts) + "\n"


def report(bench: str, title: str, results: Results, *, peer: str, targets: Sequence[Target] = (),
           checks: Checks | None = None, notes: str = "") -> str:
    """Markdown report; saved with every run under ``benchmarks/results/`` (``<bench>.json`` and ``.md``).

    Raises SystemExit(1) after saving when outputs disagree, so ``make bench`` stops.
    """
    record = {"bench": bench, "title": title, "started": results.started, "finished": results.finished,
              "machine": machine(), "versions": versions(), "peer": peer,
              "runs": {k: [asdict(r) for r in v] for k, v in results.runs.items()},
              "targets": [{"label": t.label, "measured": asdict(t.measure(results)), "shown": t.shown(results),
                           "verdict": t.verdict(results)} for t in targets],
              "checks": [{"label": label, "ok": ok, "detail": d} for label, ok, d in (checks.items if checks else [])],
              "notes": notes}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{bench}.json").write_text(json.dumps(record, indent=1) + "\n")
    text = render(record)
    (RESULTS / f"{bench}.md").write_text(text)
    print(text)
    if checks and not checks.ok:
        raise SystemExit(f"{bench}: contenders' outputs disagree (see above)")
    return text


# ---------------------------------------------------------------- cached data


def code_digest(code: Iterable[Any]) -> str:
    """SHA-256 over the source of functions/modules and the bytes of files or folders (``*.py``)."""
    h = hashlib.sha256()
    for item in code:
        if isinstance(item, Path):
            files = sorted(item.rglob("*.py")) if item.is_dir() else [item]
            for f in files:
                h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
                h.update(f.read_bytes())
        elif isinstance(item, str):
            h.update(item.encode())
        else:
            h.update(inspect.getsource(item).encode())
    return h.hexdigest()


def cache_key(params: dict[str, Any], code: Iterable[Any]) -> str:
    """Key of generated data: its parameters and the code that generates it.

    >>> def gen(path, n): pass
    >>> cache_key({"n": 1}, [gen]) == cache_key({"n": 1}, [gen])
    True
    >>> cache_key({"n": 1}, [gen]) == cache_key({"n": 2}, [gen])
    False
    """
    h = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(code_digest(code).encode())
    return h.hexdigest()[:16]


def cached(name: str, generate: Callable[..., None], params: dict[str, Any], *, code: Iterable[Any] = (),
           suffix: str = ".parquet") -> Path:
    """Path of data made by ``generate(path, **params)``, generating it once per key.

    *code* lists what else the data depend on besides ``generate`` itself
    (helper functions, modules, files or folders). A partial file is never
    left under the final name.
    """
    key = cache_key(params, [generate, *code])
    path = OUT / "data" / f"{name}-{key}{suffix}"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    if part.is_dir():
        shutil.rmtree(part)
    part.unlink(missing_ok=True)
    t = time.perf_counter()
    generate(part, **params)
    os.replace(part, path)
    print(f"generated {path.name} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    return path


if __name__ == "__main__":
    # python benchmarks/harness.py render NAME...: rewrite results/NAME.md from results/NAME.json
    if sys.argv[1:2] == ["render"]:
        for name in sys.argv[2:]:
            saved = json.loads((RESULTS / f"{name}.json").read_text())
            saved.setdefault("notes", "")
            for t in saved["targets"]:
                t.setdefault("shown", Spread(**t["measured"]).format(2))
            (RESULTS / f"{name}.md").write_text(render(saved))
