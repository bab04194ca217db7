"""The package layout is the architecture: imports point one way, privates stay private.

cli (installed as segment_cli) -> command packages (segment.rfm, .cluster,
.rules, .lifecycle, .validate, .synth) -> shared modules (segment.stats,
segment.io, segment.errors, segment.columns, segment.binning). Read from the
source with ``ast``, so a violation is found even in a module no test imports.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import pkgutil
import tomllib
from pathlib import Path

import pytest

import segment
from tests.conftest import ROOT

COMMANDS = ("rfm", "cluster", "rules", "lifecycle", "validate", "synth", "churn", "campaign", "clv", "survival",
            "report")
SHARED = ("stats", "io", "errors", "columns", "binning", "spark")
# A command package may build on another's *public* API only where declared
# here (one way, no cycles): e.g. churn features stage customers with lifecycle.
USES: dict[str, set[str]] = {
    "survival": {"lifecycle"},
    "churn": {"lifecycle"},
    "clv": {"lifecycle"},
    "report": {"lifecycle"},  # stage order (lifecycle.STAGES) for the charts' axes and colours
}
SOURCES = (("segment", "segment"), ("cli", "segment_cli"))  # folder, import name


def _modules() -> dict[str, Path]:
    out = {}
    for folder, name in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [name, *path.relative_to(ROOT / folder).with_suffix("").parts]
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, str]]:
    """(target module, imported name or '') for every import of ours in *module*."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module
            for a in node.names:
                # `from segment import binning` imports the module segment.binning.
                sub = f"{base}.{a.name}"
                out.append((sub, "") if sub in MODULES else (base, a.name))
    return [(t, n) for t, n in out if t.split(".")[0] in ("segment", "segment_cli", "cli")]


def unit(module: str) -> str:
    """The package a module belongs to for layering: segment.rules._stats -> segment.rules."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "segment" and len(parts) > 1 else parts[0]


def violations(edges: list[tuple[str, str, str]]) -> list[str]:
    """Every broken layout rule in *edges* (importer, target module, imported name)."""
    bad = []
    commands = {f"segment.{c}" for c in COMMANDS}
    shared = {f"segment.{s}" for s in SHARED} | {"segment"}
    for src, dst, name in edges:
        a, b = unit(src), unit(dst)
        if a == b:
            continue
        if b in ("cli", "segment_cli"):
            bad.append(f"{src} imports the command line ({dst})")
        if a in commands and b in commands and b.split(".")[1] not in USES.get(a.split(".")[1], set()):
            bad.append(f"{src} imports another command package ({dst})")
        if a in shared and b in commands:
            bad.append(f"{src} (shared) imports a command package ({dst})")
        private = [p for p in dst.split(".") if p.startswith("_") and p != "__init__"]
        if a in commands and b in commands and dst != b:
            private = private or [dst]  # a declared use goes through the package's __init__ only
        if private or name.startswith("_"):
            bad.append(f"{src} imports a private name of another package: {dst} {name}".strip())
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        if unit(src) != unit(dst):
            graph.setdefault(unit(src), set()).add(unit(dst))
    bad += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


EDGES = [(m, t, n) for m, p in MODULES.items() for t, n in _imports(m, p)]


def test_the_import_graph_points_one_way_with_no_private_imports_across_packages():
    assert len(EDGES) > 100  # the parser found the imports
    assert violations(EDGES) == []


@pytest.mark.parametrize("edge, message", [
    (("segment.rules._rules", "segment.rfm._rfm", "x"), "imports another command package"),
    (("segment.rules._rules", "segment.cluster", "cluster"), "imports another command package"),
    (("segment.stats.tests", "segment.validate", "validate_segment"), "(shared) imports a command package"),
    (("segment.io", "segment_cli.run", "Run"), "imports the command line"),
    (("segment_cli.cluster", "segment.cluster._cluster", "cluster"), "private name"),
    (("segment.validate._homogeneity", "segment.stats.tests", "_chi2_sf"), "private name"),
])
def test_each_rule_catches_its_violation(edge, message):
    found = violations([edge])
    assert found and message in found[0], found


def test_a_cycle_between_packages_is_caught():
    found = violations([("segment.columns", "segment.io", "read"), ("segment.io", "segment.columns", "x")])
    assert any(v.startswith("import cycle") for v in found), found


def test_every_package_is_installed():
    """pyproject lists packages by hand (package-dir renames cli/); none may be missed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"segment", "segment_cli"} | {m.name for m in pkgutil.walk_packages(segment.__path__, "segment.")
                                            if m.ispkg}
    assert listed == on_disk


def test_the_command_line_installs_as_segment_cli():
    module = importlib.import_module("segment_cli")
    assert Path(module.__file__).parent == ROOT / "cli"  # the source folder keeps its name
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="segment")
    assert script.value == "segment_cli.app:main"
    assert script.load() is importlib.import_module("segment_cli.app").main


PUBLIC = [("segment.rfm", "rfm", "RFMResult"), ("segment.cluster", "cluster", "ClusterResult"),
          ("segment.rules", "rules", "RulesResult"), ("segment.lifecycle", "lifecycle", "Lifecycle"),
          ("segment.validate", "validate_segment", "ValidationResult"), ("segment.synth", "synth", "Synth"),
          ("segment.churn", "churn", "Features"), ("segment.campaign", "effect", "EffectResult"),
          ("segment.clv", "clv", "CLVResult"),
          ("segment.survival", "survival", "SurvivalResult"),
          ("segment.report", "report", "Report"), ("segment.report", "plot", "Chart")]


@pytest.mark.parametrize("package, function, result", PUBLIC)
def test_each_command_package_exports_its_entry_function_and_result_class(package, function, result):
    module = importlib.import_module(package)
    assert callable(getattr(module, function)) and isinstance(getattr(module, result), type)
    assert {function, result} <= set(module.__all__)
    assert all(not name.startswith("_") for name in module.__all__)


def test_every_command_package_is_covered():
    assert {p.split(".")[1] for p, _, _ in PUBLIC} == set(COMMANDS)


def test_top_level_exports_errors_and_version_only():
    from segment import errors

    exported = set(segment.__all__)
    assert "__version__" in exported and segment.__version__
    error_types = {n for n in exported - {"__version__"}
                   if isinstance(getattr(segment, n), type) and issubclass(getattr(segment, n), (Exception, Warning))}
    assert exported - {"__version__"} == error_types
    assert {"SegmentError", "OptionError", "DataError", "CheckFailed", "SegmentWarning"} <= error_types
    assert all(getattr(segment, n) is getattr(errors, n) for n in error_types)
    # A function segment.rfm would hide the package segment.rfm.
    assert not set(COMMANDS) & exported


def test_stray_value_errors_joined_the_segment_error_family():
    import polars as pl

    from segment.binning import balanced_breaks
    from segment.errors import OptionError, SegmentError
    from segment.stats.multitest import adjust

    with pytest.raises(OptionError, match="--bins must be at least 1, got 0"):
        balanced_breaks(pl.Series([1.0, 2.0]), 0)
    with pytest.raises(SegmentError):
        adjust([0.5], "sidak")


def test_a_declared_use_of_another_command_goes_through_its_public_api(monkeypatch):
    monkeypatch.setitem(USES, "rules", {"rfm"})
    assert violations([("segment.rules._rules", "segment.rfm", "rfm")]) == []
    found = violations([("segment.rules._rules", "segment.rfm._rfm", "rfm")])
    assert found and "private" in found[0], found
    assert "imports another command package" in violations([("segment.rules._rules", "segment.cluster", "x")])[0]
