"""The ``segment`` application: registers each command module's command.

Command modules live in ``cli/<command>.py``; each defines ``command`` (the
Typer function), ``NAME`` and ``EXAMPLE``. They import heavy engines
(hdbscan, mlxtend, scipy, pandas) only inside the command body, so
``segment --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from . import churn, cluster, clv, info, join, lifecycle, matrix, plot, report, rfm, rules, sample, survival, synth, validate_segment
from .errors import SegmentGroup
from .reading import ReadingCommand

# Order of `segment --help`: the analyst's workflow, then utilities.
COMMANDS = [rfm, cluster, rules, lifecycle, churn, survival, clv, validate_segment, join, matrix, sample, plot, report, synth, info]


class _Group(SegmentGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        # Workflow order; Typer would otherwise list sub-apps after plain commands.
        return [m.NAME for m in COMMANDS]

app = typer.Typer(
    name="segment",
    cls=_Group,
    help="Customer segmentation for the terminal: value (RFM, CLV), clusters, churn rules, "
    "early warning and survival, lifecycle stages, retention campaigns with control groups, "
    "tests that a segmentation is real, and offline HTML reports.\n\n"
    "Every command reads a table (file or - for stdin) and writes a table "
    "(-o FILE or stdout), so commands pipe together and fit in Makefiles.",
    epilog="Examples:\n\n" + "\n\n".join(f"  {m.EXAMPLE}" for m in COMMANDS),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        import segment

        typer.echo(f"segment {segment.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    config: Annotated[str | None, typer.Option(
        "--config", metavar="FILE", show_default=False,
        help="Project file naming the extract's columns by role (id, date, amount, month, voice, ...) "
             "and how to read it [default: segment.toml in this folder, if there is one].")] = None,
) -> None:
    from .project import apply_project

    apply_project(ctx, config)


for _module in COMMANDS:
    if hasattr(_module, "app"):  # a command with subcommands
        app.add_typer(_module.app, name=_module.NAME, help=_module.HELP)
    else:
        # Every command that reads a table takes the same reading options (cli/reading.py).
        reads = getattr(_module, "READS_TABLE", True)
        app.command(_module.NAME, help=_module.command.__doc__,
                    **({"cls": ReadingCommand} if reads else {}))(_module.command)


def main() -> None:
    """Console-script entry point."""
    app()
