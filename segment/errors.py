"""One exception family for every failure a user can fix.

Every error the library raises for bad input or bad options derives from
:class:`SegmentError`. The CLI catches that one class, prints its message on
one line and exits with status 2. Messages name the column or value at fault
and say how to fix it.

Examples
--------
>>> from segment.errors import ColumnNotFoundError, SegmentError
>>> err = ColumnNotFoundError("amout", ["customer_id", "date", "amount"])
>>> isinstance(err, SegmentError)
True
>>> print(err)
column 'amout' not found; did you mean 'amount'? (available: customer_id, date, amount)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class SegmentError(Exception):
    """Base class of every error a user can fix (bad input, bad options)."""

    exit_code = 2


class InputError(SegmentError):
    """An input file cannot be read, is empty, or is in an unknown format."""


class EmptyInputError(InputError):
    """The input has no data rows (empty file or header only)."""


class OptionError(SegmentError):
    """An option value is invalid or options contradict each other."""


class ColumnNotFoundError(SegmentError):
    """A named column is not in the input; suggests the closest match."""

    def __init__(self, column: str, available: Sequence[str], role: str | None = None):
        self.column = column
        self.available = list(available)
        self.role = role
        close = difflib.get_close_matches(column, self.available, n=1, cutoff=0.6)
        if not close:
            lowered = {c.lower(): c for c in self.available}
            if column.lower() in lowered:
                close = [lowered[column.lower()]]
        what = f"{role} column" if role else "column"
        msg = f"{what} {column!r} not found"
        if close:
            msg += f"; did you mean {close[0]!r}?"
        shown = ", ".join(self.available[:30]) + (", ..." if len(self.available) > 30 else "")
        msg += f" (available: {shown})"
        super().__init__(msg)


class ColumnTypeError(SegmentError):
    """A column has the wrong type (e.g. text where numbers are needed)."""


class DataError(SegmentError):
    """Values are invalid: nulls, negatives, duplicates, unparseable dates."""


class OutputError(SegmentError):
    """The output cannot be written where asked (e.g. it would overwrite an input)."""


class CheckFailed(SegmentError):
    """A check the user asked for failed (exit status 1, not 2)."""

    exit_code = 1


class SegmentWarning(UserWarning):
    """Something the user should know about that did not stop the command.

    The library emits these with :func:`warnings.warn`; the CLI shows them on
    stderr. Example: rows dropped because their customer id was null.
    """
