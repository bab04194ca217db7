"""Generate the README's CLI reference from ``--help`` (never pasted by hand).

    python -m tests.cli_reference            # print the reference
    python -m tests.cli_reference --write README.md

The reference sits between ``<!-- BEGIN cli-reference -->`` and
``<!-- END cli-reference -->``; ``tests/test_docs.py`` fails when it is stale.
Help is rendered without rich boxes, 100 columns wide, so it reads well in
Markdown and does not depend on the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BEGIN = "<!-- BEGIN cli-reference -->"
END = "<!-- END cli-reference -->"
ROOT = Path(__file__).resolve().parents[1]


def _help(args: list[str]) -> str:
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "100", "NO_COLOR": "1",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "segment_cli", *args, "--help"], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True)
    return "\n".join(line.rstrip() for line in out.stdout.strip().splitlines())


def commands() -> list[str]:
    """Top-level command names, in ``segment --help`` order."""
    from segment_cli.app import COMMANDS

    return [m.NAME for m in COMMANDS]


def command_paths() -> list[list[str]]:
    """Every command and subcommand, e.g. ``["lifecycle", "transitions"]``."""
    from segment_cli.app import COMMANDS

    paths: list[list[str]] = []
    for module in COMMANDS:
        paths.append([module.NAME])
        if hasattr(module, "app"):
            paths += [[module.NAME, c.name] for c in module.app.registered_commands if c.name]
    return paths


def reference() -> str:
    parts = ["```text", "$ segment --help", _help([]), "```"]
    for path in command_paths():
        title = " ".join(path)
        parts += ["", f"### `segment {title}`", "", "```text", f"$ segment {title} --help",
                  _help(path), "```"]
    return "\n".join(parts)


def splice(text: str, generated: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README lacks the markers {BEGIN} / {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main(argv: list[str]) -> None:
    generated = reference()
    if argv[:1] == ["--write"]:
        path = Path(argv[1])
        path.write_text(splice(path.read_text(), generated))
    else:
        print(generated)


if __name__ == "__main__":
    main(sys.argv[1:])
