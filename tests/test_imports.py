"""The library stays free of CLI deps; help stays free of heavy engines."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("hdbscan", "mlxtend", "scipy", "pandas", "sklearn", "statsmodels", "fastexcel", "xlsxwriter",
         "pyspark", "py4j", "vl_convert", "matplotlib", "altair")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_library_does_not_import_typer_or_rich():
    # walk_packages, not iter_modules: every module of every command package counts.
    code = ("import segment, importlib, pkgutil\nnames = []\n"
            "for m in pkgutil.walk_packages(segment.__path__, 'segment.'):\n"
            "    importlib.import_module(m.name); names.append(m.name)\n"
            "print(len(names), file=__import__('sys').stderr)\n"
            "assert 'segment.rules._stats' in names and 'segment.stats.multitest' in names, names")
    loaded = _modules_after(code)
    assert "segment.validate._homogeneity" in loaded and "segment.synth._world" in loaded
    assert not {"typer", "rich", "click"} & {m.split(".")[0] for m in loaded}


def test_help_does_not_import_heavy_engines():
    code = ("import sys\nfrom segment_cli.app import app\nfrom typer.testing import CliRunner\n"
            "for args in (['--help'], *[[c, '--help'] for c in "
            "[m.NAME for m in __import__('segment_cli.app').app.COMMANDS]]):\n"
            "    r = CliRunner().invoke(app, args)\n    assert r.exit_code == 0, r.output")
    loaded = {m.split(".")[0] for m in _modules_after(code)}
    assert not set(HEAVY) & loaded, set(HEAVY) & loaded


def test_python_dash_m_segment_cli_works_outside_the_checkout(tmp_path):
    out = subprocess.run([sys.executable, "-m", "segment_cli", "--version"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("segment "), out.stderr


def test_python_dash_m_cli_still_works_from_a_checkout():
    out = subprocess.run([sys.executable, "-m", "cli", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("segment "), out.stderr
