"""The one place where failures become exit codes and one-line messages."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import Any

import polars as pl
import typer
from typer import _click as click  # Typer vendors click

from segment.errors import SegmentError

from .options import RENAMED


def say_error(message: str, prefix: str = "error") -> None:
    """Print ``prefix: message`` on one line to stderr."""
    text = " ".join(str(message).split())
    sys.stderr.write(f"{prefix}: {text}\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    # After EPIPE, Python would complain again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def respell(args: list[str], renamed: dict[str, str]) -> list[str]:
    """*args* with old option spellings replaced by new ones, one warning per old spelling.

    >>> respell(["a.csv", "--old=3", "--", "--old"], {"--old": "--new"})
    ['a.csv', '--new=3', '--', '--old']
    """
    out = list(args)
    for k, arg in enumerate(out):
        if arg == "--":
            break
        old, eq, value = arg.partition("=")
        if old in renamed:
            out[k] = renamed[old] + eq + value
            say_error(f"{old} is deprecated and will be removed in the next release; use {renamed[old]}",
                      prefix="warning")
    return out


# What polars' readers say when a file does not parse. Scanning is lazy, so
# these arrive from inside a library call rather than from the read itself.
_READ_ERRORS = ("could not parse", "more fields than defined", "invalid utf-8", "offset in the file",
                "syntax at character")


def is_read_error(exc: Exception) -> bool:
    """True when a polars ComputeError comes from parsing an input file, e.g. a value
    that does not fit the inferred column type further down a large CSV."""
    text = str(exc).lower()
    return any(marker in text for marker in _READ_ERRORS)


class SegmentGroup(typer.core.TyperGroup):
    """Typer group that maps every failure to the documented exit codes.

    0 success; 1 a check the user asked for failed; 2 bad usage or bad
    input, as one ``error: ...`` line on stderr. ``| head`` closing the pipe
    ends the command quietly with 0.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # registration order, not alphabetical

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple:
        name, command, rest = super().resolve_command(ctx, args)
        return name, command, respell(rest, RENAMED.get(name or "", {}))

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = 0
        try:
            rv = super().main(
                args=args, prog_name=prog_name or "segment", complete_var=complete_var,
                standalone_mode=False, **extra,
            )
            if isinstance(rv, int):
                code = rv
        except click.exceptions.NoArgsIsHelpError:
            code = 2  # Typer has already shown the help
        except click.ClickException as exc:
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f" (see '{ctx.command_path} --help')"
            say_error(exc.format_message() + hint)
            code = exc.exit_code
        except typer.Abort:
            say_error("interrupted")
            code = 130
        except typer.Exit as exc:
            code = exc.exit_code
        except SegmentError as exc:
            say_error(str(exc), prefix="check failed" if exc.exit_code == 1 else "error")
            code = exc.exit_code
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
            from segment.io import read_error

            from .run import numbers_read_from_text

            message = read_error(exc, numbers_read_from_text())
            if message is None and not (isinstance(exc, pl.exceptions.ComputeError) and is_read_error(exc)):
                raise  # a bug, not bad input: the traceback is what a report needs
            say_error(message or f"cannot read input: {str(exc).strip().splitlines()[0]}")
            code = 2
        except OSError as exc:
            # polars reports EPIPE as a plain OSError without errno.
            if not (isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE
                    or "Broken pipe" in str(exc)):
                raise
            _silence_stdout()
            code = 0
        except SystemExit as exc:
            # Typer turns EPIPE while printing help into sys.exit(1); a reader
            # that stopped early (| head) is not an error.
            if isinstance(exc.__context__, BrokenPipeError):
                _silence_stdout()
                code = 0
            else:
                raise
        except Exception as exc:
            if not type(exc).__module__.startswith(("pyspark", "py4j")):
                raise
            from segment.spark import out_of_memory, raised_on_executor, segment_error

            # An analysis error (a missing column) or a user error met on an executor is the user's, and
            # a job that ran out of memory needs settings, not a traceback; any other failed job is
            # reported as a bug is.
            mapped = segment_error(exc) or raised_on_executor(exc) or out_of_memory(exc)
            if mapped is None and "AnalysisException" not in type(exc).__name__:
                raise
            say_error(str(mapped) if mapped else f"Spark cannot run the query: {str(exc).strip().splitlines()[0]}")
            code = 2
        except KeyboardInterrupt:
            say_error("interrupted")
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


def command_group(name: str, help: str, cls: type[SegmentGroup] = SegmentGroup) -> typer.Typer:
    """A command with subcommands (``segment churn fit``...): the exit codes of :class:`SegmentGroup`,
    ``-h``, rich help, and no shell-completion options, as every group of ``segment`` has."""
    return typer.Typer(name=name, cls=cls, help=help, no_args_is_help=True, add_completion=False,
                       rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]})
