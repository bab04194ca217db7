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
import re
from collections.abc import Sequence

_ODD_SPACE = re.compile(r"^\s|\s$|\s\s|[^\S ]")
SPACE_MARK = "\u2423"  # OPEN BOX, the visible-space sign


def shown(name: str, *, mark: bool | None = None) -> str:
    """A column name quoted exactly: its repr, with spaces shown as ``\u2423`` when
    whitespace could mislead (leading, trailing, doubled, or *mark*).

    >>> print(shown("amount"), shown("Call  Failure"), shown("Call Failure", mark=True))
    'amount' 'Call\u2423\u2423Failure' 'Call\u2423Failure'
    """
    if mark is None:
        mark = bool(_ODD_SPACE.search(name))
    text = repr(name)
    return text.replace(" ", SPACE_MARK) if mark else text


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
        squeezed = {" ".join(c.split()).lower(): c for c in self.available}
        close = [squeezed[" ".join(column.split()).lower()]] if " ".join(column.split()).lower() in squeezed else []
        close = close or difflib.get_close_matches(column, self.available, n=1, cutoff=0.6)
        # Names that differ only in whitespace look identical in a terminal: mark the spaces.
        mark = bool(close) and " ".join(close[0].split()) == " ".join(column.split())
        mark = mark or bool(_ODD_SPACE.search(column)) or any(_ODD_SPACE.search(c) for c in close)
        what = f"{role} column" if role else "column"
        msg = f"{what} {shown(column, mark=mark)} not found"
        if close:
            msg += f"; did you mean {shown(close[0], mark=mark)}?"
        if mark:
            msg += f" ({SPACE_MARK} marks a space)"
        names = ", ".join(self.available[:30]) + (", ..." if len(self.available) > 30 else "")
        msg += f" (available: {names})"
        super().__init__(msg)


class ColumnTypeError(SegmentError):
    """A column has the wrong type (e.g. text where numbers are needed)."""


class DataError(SegmentError):
    """Values are invalid: nulls, negatives, duplicates, unparseable dates."""


class OutputError(SegmentError):
    """The output cannot be written where asked (e.g. it would overwrite an input)."""


class EngineError(SegmentError):
    """The Spark engine cannot start: no Java runtime, no pyspark, or an unreachable master."""


class CheckFailed(SegmentError):
    """A check the user asked for failed (exit status 1, not 2)."""

    exit_code = 1


class SegmentWarning(UserWarning):
    """Something the user should know about that did not stop the command.

    The library emits these with :func:`warnings.warn`; the CLI shows them on
    stderr. Example: rows dropped because their customer id was null.
    """
