"""How to read an extract: the same options on every command that reads a table.

``--separator``, ``--decimal-comma``, ``--null-values``,
``--replace-null-values`` and ``--sheet`` are declared once here and added
to every command by :class:`ReadingCommand` (``cls=`` at registration, as
sqlite-utils adds its output options with one decorator). The command body
never sees them: :meth:`cli.run.Run.read` reads them from the parsed command
line and hands :class:`segment.io.Dialect` to the library, and provenance
records them with the other options.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand
from typer._click.globals import get_current_context  # Typer vendors click

from .options import IO_PANEL
from segment.columns import null_markers
from segment.errors import OptionError
from segment.io import Dialect

_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _declared(
    separator: Annotated[str | None, typer.Option(
        "--separator", help="Field separator of text input: a character or tab (default: ',' unless the header has "
        "no comma and has ';', tab or '|').", rich_help_panel=IO_PANEL, show_default=False)] = None,
    decimal_comma: Annotated[bool, typer.Option(
        "--decimal-comma", help="Numbers in text input are written 1,5 (needs a separator other than ',').",
        rich_help_panel=IO_PANEL)] = False,
    null_values: Annotated[list[str] | None, typer.Option(
        "--null-values", help="More text that marks a missing number, e.g. '?' (repeat or comma-separate). "
        "Default markers: NA, N/A, n/a, null, NULL, nan, NaN, -, and empty.", rich_help_panel=IO_PANEL,
        show_default=False)] = None,
    replace_null_values: Annotated[bool, typer.Option(
        "--replace-null-values", help="--null-values replace the default markers instead of adding to them.",
        rich_help_panel=IO_PANEL)] = False,
    sheet: Annotated[str | None, typer.Option(
        "--sheet", help="Worksheet of an xlsx input, by name or number (default: the first).",
        rich_help_panel=IO_PANEL, show_default=False)] = None,
) -> None:
    """Never called: Typer builds the shared reading options from its signature."""


def _params() -> list[Any]:
    holder = typer.Typer(add_completion=False)
    holder.command()(_declared)
    return typer.main.get_command(holder).params


NAMES = ("separator", "decimal_comma", "null_values", "replace_null_values", "sheet")


class ReadingCommand(TyperCommand):
    """A Typer command with the shared reading options added (kept from the command body)."""

    def __init__(self, *args: Any, params: list[Any] | None = None, callback: Any = None, **kwargs: Any):
        def without_reading_options(**values: Any) -> Any:
            for name in NAMES:
                values.pop(name, None)
            return callback(**values)

        super().__init__(*args, params=[*(params or []), *_params()], callback=without_reading_options,
                         **kwargs)


def separator_option(value: str | None) -> str | None:
    """``tab``, ``\\t`` or a named separator as the character itself.

    >>> separator_option("tab"), separator_option(";"), separator_option(None)
    ('\\t', ';', None)
    """
    if value is None:
        return None
    value = _SEPARATOR_NAMES.get(value.lower(), value)
    if len(value) != 1:
        raise OptionError(f"--separator must be one character, or tab, got {value!r}")
    return value


def dialect_from(options: dict[str, Any]) -> Dialect:
    """The :class:`~segment.io.Dialect` the reading options ask for."""
    given = [m.strip() for item in (options.get("null_values") or ()) for m in str(item).split(",")]
    return Dialect(separator=separator_option(options.get("separator")),
                   decimal_comma=bool(options.get("decimal_comma")),
                   null_values=null_markers([m for m in given if m],
                                            replace=bool(options.get("replace_null_values"))),
                   sheet=options.get("sheet"), markers_given=bool(given) or bool(options.get("replace_null_values")))


def current_dialect() -> Dialect:
    """The dialect of the running command (default outside a command, e.g. in tests)."""
    ctx = get_current_context(silent=True)
    return dialect_from(dict(ctx.params)) if ctx is not None else Dialect()
