"""segment: customer-segmentation transforms over polars frames.

The library never prints, never reads ``sys.argv`` and never exits. Heavy
engines (hdbscan, mlxtend, scipy, pandas) are imported inside the functions
that need them so that ``import segment`` stays fast.
"""

from segment.errors import (
    CheckFailed,
    ColumnNotFoundError,
    ColumnTypeError,
    DataError,
    EmptyInputError,
    InputError,
    OptionError,
    OutputError,
    SegmentError,
    SegmentWarning,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CheckFailed",
    "ColumnNotFoundError",
    "ColumnTypeError",
    "DataError",
    "EmptyInputError",
    "InputError",
    "OptionError",
    "OutputError",
    "SegmentError",
    "SegmentWarning",
]
