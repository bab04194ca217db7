"""Every ``console`` example in the README and in docs/ runs and prints what the page shows.

Each page runs in its own scratch copy of ``examples/`` (so ``data/`` and
``out/`` resolve as on the page), blocks in order. A line starting with
``$ `` is a command (``\\`` continues it); the lines after it are the
expected output, stdout and stderr in one stream as a terminal shows them.
``...`` on its own line matches any lines; a command with no expected lines
is only required to succeed. ``make docs`` (``python -m tests.test_doc_examples``)
rewrites the expected outputs from real runs, except in blocks that use ``...``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(```console\n.*?```)", re.S)


def parse_block(body: str) -> list[tuple[str, list[str], list[str]]]:
    """(command, expected output lines, the command's own page lines) per example."""
    out = []
    lines = body.rstrip("\n").splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise AssertionError(f"console block line is not a command: {lines[i]!r}")
        start, cmd = i, lines[i][2:]
        while cmd.endswith("\\"):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        i += 1
        own = lines[start:i]
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        out.append((cmd, expected, own))
    return out


def examples(page: Path) -> list[tuple[str, list[str], list[str]]]:
    return [ex for block in _BLOCK.findall(page.read_text())
            for ex in parse_block(block[len("```console\n"):-3])]


def matches(expected: list[str], actual: list[str]) -> bool:
    pattern = "\n".join(".*?" if ln.strip() == "..." else re.escape(ln.rstrip()) for ln in expected)
    pattern = pattern.replace("\n.*?\n", "(\n.*?)?\n").replace(".*?", "(?s:.*?)")
    return re.fullmatch(pattern, "\n".join(ln.rstrip() for ln in actual)) is not None


def scratch(folder: Path) -> Path:
    work = folder / "examples"
    shutil.copytree(ROOT / "examples" / "data", work / "data")
    for name in ("Makefile", "summary.py"):
        shutil.copy2(ROOT / "examples" / name, work / name)
    (work / "out").mkdir()
    # `segment` and `python` as an analyst's PATH has them (Make calls them too).
    shims = folder / "bin"
    shims.mkdir()
    for name, target in (("segment", f'"{sys.executable}" -m segment_cli'), ("python", f'"{sys.executable}"'),
                         ("python3", '/usr/bin/false')):  # the system Python must not be needed
        (shims / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (shims / name).chmod(0o755)
    return work


def run_example(cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb",
           "PATH": f"{cwd.parent / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    # One stream, as a terminal shows it: stderr lines stay where they were printed.
    return subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=cwd, env=env, timeout=600)


def _lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln.rstrip() for ln in proc.stdout.rstrip("\n").splitlines()]


def test_readme_has_examples():
    assert len(examples(ROOT / "README.md")) >= 3


@pytest.mark.parametrize("page", [p for p in PAGES if examples(p)], ids=lambda p: p.name)
def test_examples_run_and_match(page, tmp_path):
    work = scratch(tmp_path)
    for cmd, expected, _ in examples(page):
        proc = run_example(cmd, work)
        assert proc.returncode == 0, f"$ {cmd}\n{proc.stdout}"
        if expected:
            actual = _lines(proc)
            assert matches(expected, actual), (
                f"{page.name}: example output differs (`make docs` rewrites it):\n$ {cmd}\n--- page\n"
                + "\n".join(expected) + "\n--- actual\n" + "\n".join(actual))


def update(page: Path) -> None:
    """Rewrite a page's expected outputs from real runs (blocks with ``...`` are kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = scratch(Path(tmp))
        pieces = _BLOCK.split(page.read_text())
        for k, piece in enumerate(pieces):
            if not piece.startswith("```console"):
                continue
            new_lines: list[str] = []
            for cmd, expected, own in parse_block(piece[len("```console\n"):-3]):
                new_lines += own
                proc = run_example(cmd, work)
                if proc.returncode != 0:
                    raise SystemExit(f"{page.name}: $ {cmd}\n{proc.stdout}")
                if expected and not any(ln.strip() == "..." for ln in expected):
                    expected = _lines(proc)
                new_lines += expected
            pieces[k] = "```console\n" + "\n".join(new_lines) + "\n```"
    page.write_text("".join(pieces))


if __name__ == "__main__":
    for p in PAGES:
        if examples(p):
            update(p)
