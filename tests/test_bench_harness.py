"""The benchmark harness's verdict arithmetic (benchmarks/harness.py); no timing is asserted."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_harness():
    spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "benchmarks" / "harness.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


h = _load_harness()


def fake_results(walls: dict[str, list[float]], rss: dict[str, list[float]] | None = None):
    runs = {name: [h.Run(wall=w, cpu=w, rss=(rss or {}).get(name, [100.0] * len(ws))[i], load=1.0)
                   for i, w in enumerate(ws)]
            for name, ws in walls.items()}
    return h.Results(runs, started="then", finished="now")


def test_the_verdict_pairs_rounds_instead_of_dividing_medians():
    # The case: the medians alone say 3.0 / 1.5 = 2.0x ("met"), but
    # round by round the contender took 2.5, 1.5 and 3.0 times the peer.
    res = fake_results({"peer": [1.0, 2.0, 1.5], "rfm": [2.5, 3.0, 4.5]})
    assert h.Spread.of(res.walls("rfm")).median / h.Spread.of(res.walls("peer")).median == 2.0
    ratio = res.ratio("rfm", "peer")
    assert ratio == h.Spread(median=2.5, lo=1.5, hi=3.0)
    target = h.Target("rfm <= 2x peer", "ratio", "rfm", 2.0, peer="peer")
    assert target.verdict(res) == "missed (2.50)"
    assert h.Target("rfm <= 3x peer", "ratio", "rfm", 3.0, peer="peer").verdict(res) == "met"


def test_speedup_is_the_slower_over_the_faster_per_round():
    res = fake_results({"lifetimes": [20.0, 30.0, 12.0, 25.0], "btyd": [4.0, 5.0, 4.0, 4.0]})
    # per round: 5, 6, 3, 6.25 -> median of an even count is the mean of the middle two
    assert res.speedup("btyd", "lifetimes") == h.Spread(median=5.5, lo=3.0, hi=6.25)
    assert h.Target(">= 5x", "speedup", "btyd", 5.0, peer="lifetimes").verdict(res) == "met"
    assert h.Target(">= 6x", "speedup", "btyd", 6.0, peer="lifetimes").verdict(res) == "missed (5.50)"


def test_a_limit_met_exactly_is_met_in_both_directions():
    assert h.verdict(h.Spread.of([2.0]), 2.0, at_most=True) == "met"
    assert h.verdict(h.Spread.of([5.0]), 5.0, at_most=False) == "met"
    assert h.verdict(h.Spread.of([4.99]), 5.0, at_most=False) == "missed (4.99)"


def test_memory_ratios_and_absolute_targets_use_the_same_rounds():
    res = fake_results({"peer": [1.0, 1.0, 1.0], "x": [1.0, 1.0, 1.0]},
                       rss={"peer": [100.0, 200.0, 400.0], "x": [300.0, 300.0, 300.0]})
    assert res.ratio("x", "peer", "rss") == h.Spread(median=1.5, lo=0.75, hi=3.0)
    limit = h.Target("x under 250 MiB", "absolute", "x", 250.0, metric="rss")
    assert limit.verdict(res) == "missed (300.00)"
    assert limit.shown(res) == "300 MiB"


def test_rounds_of_unequal_length_are_refused():
    with pytest.raises(ValueError, match="same rounds"):
        h.per_round([1.0, 2.0], [1.0])


def test_every_round_runs_every_contender_once_with_a_rotating_start():
    order: list[str] = []

    def run(c):
        order.append(c.name)
        return h.Run(wall=1.0, cpu=1.0, rss=1.0, load=0.0)

    cs = [h.Contender(n, ["true"]) for n in "abc"]
    res = h.rounds(cs, 4, run=run, log=lambda _: None)
    assert order == list("abc" "bca" "cab" "abc")
    assert res.rounds == 4 and all(len(v) == 4 for v in res.runs.values())


def test_a_failing_contender_stops_the_benchmark():
    with pytest.raises(RuntimeError, match="exit 3"):
        h.measure(h.Contender("fails", [sys.executable, "-c", "import sys; sys.exit(3)"]))


def test_a_measured_run_reports_its_memory():
    run = h.measure(h.Contender("alloc", [sys.executable, "-c", "x = bytearray(64 * 2**20)"]))
    assert run.rss >= 64 and run.wall > 0


# A parent that starts a worker and exits without waiting for it, as pyspark leaves its JVM: GNU time
# never sees the worker's memory or CPU, the sampled tree does.
UNWAITED_WORKER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import time; x = bytearray(96 * 2**20); t = time.process_time(); "
    "exec('while time.process_time() - t < 1.0: pass'); time.sleep(0.5)", "worker"])
def state():
    with open(f"/proc/{child.pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]
while state() != "Z":
    time.sleep(0.05)
os._exit(0)
"""


def test_a_tree_run_reports_each_roles_memory_and_an_unwaited_workers_cpu():
    run = h.measure(h.Contender("tree", [sys.executable, "-c", UNWAITED_WORKER], tree=True,
                                roles=lambda cmd: "worker" if cmd.endswith(" worker") else "driver"))
    assert set(run.parts) == {"driver", "worker"}
    assert run.parts["worker"] >= 96 and run.parts["driver"] < run.parts["worker"]
    assert run.rss >= run.parts["worker"]
    assert run.cpu >= 0.8  # the worker's second of CPU, which GNU time does not count


# A parent holding 200 MB that forks a child which only sleeps: the child's pages are the parent's.
FORKED_COPY = """
import os, time
x = bytearray(200 * 2**20)
for i in range(0, len(x), 4096):
    x[i] = 1
pid = os.fork()
if pid == 0:
    time.sleep(1.0)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_a_forked_childs_shared_pages_count_once():
    # Regression: the JVM forking `chmod` for Hadoop's local file system counted the JVM twice
    # (18 GB for lifecycle on Spark at 100M rows, 9 GB of it under the driver's role).
    run = h.measure(h.Contender("fork", [sys.executable, "-c", FORKED_COPY], tree=True, roles=lambda cmd: "all"))
    assert 200 <= run.parts["all"] < 330  # summed RSS: over 400


def test_cached_data_are_keyed_by_parameters_and_generator_code(tmp_path, monkeypatch):
    monkeypatch.setattr(h, "OUT", tmp_path)
    calls = []

    def gen(path, n):
        calls.append(n)
        path.write_text(str(n))

    first = h.cached("d", gen, {"n": 1})
    assert h.cached("d", gen, {"n": 1}) == first and calls == [1]
    assert h.cached("d", gen, {"n": 2}) != first and calls == [1, 2]
    helper = tmp_path / "helper.py"
    helper.write_text("A = 1\n")
    with_helper = h.cached("d", gen, {"n": 1}, code=[helper])
    helper.write_text("A = 2\n")
    assert h.cached("d", gen, {"n": 1}, code=[helper]) != with_helper
    assert calls == [1, 2, 1, 1]
    assert not list(tmp_path.rglob("*.part"))


def test_the_harness_doctests_pass():
    assert doctest.testmod(h).failed == 0


def test_a_saved_run_renders_the_verdicts_it_was_saved_with(tmp_path, monkeypatch):
    monkeypatch.setattr(h, "RESULTS", tmp_path)
    res = fake_results({"peer": [1.0, 2.0, 1.5], "rfm": [2.5, 3.0, 4.5]})
    checks = h.Checks()
    checks.add("same customers", True, "3")
    text = h.report("x", "title", res, peer="peer", checks=checks,
                    targets=[h.Target("rfm <= 2x", "ratio", "rfm", 2.0, peer="peer")])
    assert "| rfm <= 2x | 2.50x (1.50-3.00) | missed (2.50) |" in text
    assert "| rfm | 3.00 (2.50-4.50) |" in text
    assert h.render(__import__("json").loads((tmp_path / "x.json").read_text())) == text


def test_disagreeing_outputs_stop_the_run_after_saving_it(tmp_path, monkeypatch):
    monkeypatch.setattr(h, "RESULTS", tmp_path)
    checks = h.Checks()
    checks.add("same rules", False, "69 against 70")
    with pytest.raises(SystemExit, match="disagree"):
        h.report("y", "title", fake_results({"peer": [1.0]}), peer="peer", checks=checks)
    assert "DISAGREE: same rules (69 against 70)" in (tmp_path / "y.md").read_text()


def test_a_child_does_not_report_the_harness_memory_as_its_own():
    # Linux keeps the high-water RSS across exec: a child forked straight from
    # a large harness reported the harness's size (synth at 1M, 2026-11-30).
    ballast = bytearray(400 * 2**20)
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    run = h.measure(h.Contender("small", [sys.executable, "-c", "pass"]))
    assert run.rss < 200, run.rss
    del ballast
