"""Parsers for option values with structure (lists, key=value maps)."""

from __future__ import annotations

import re
import warnings

from segment.errors import OptionError, SegmentWarning


def split_list(value: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None stays None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_breaks(value: str | None, option: str = "--breaks") -> dict[str, list[float]] | None:
    """``"r=30,90; f=2,5"`` -> ``{"r": [30.0, 90.0], "f": [2.0, 5.0]}``.

    Entries are separated by ``;``, so a column name may hold spaces (and
    ``=``: the numbers follow the last one). The old form with spaces between
    entries (``"r=30,90 f=2,5"``) still works for one release, with a warning.

    >>> parse_breaks("Customer service calls=4; tenure=12,24")
    {'Customer service calls': [4.0], 'tenure': [12.0, 24.0]}
    >>> parse_breaks("Customer service calls=2,4")
    {'Customer service calls': [2.0, 4.0]}
    """
    if not value or not value.strip():
        return None
    if ";" in value or value.count("=") <= 1:
        entries = [e for e in value.split(";") if e.strip()]
    else:
        entries = re.split(r"\s+(?=[^\s=]+=)", value.strip())
        warnings.warn(f"{option} entries separated by spaces are deprecated (column names may hold spaces); "
                      f"separate them with ';', e.g. {'; '.join(e.strip() for e in entries)!r}", SegmentWarning,
                      stacklevel=2)
    out: dict[str, list[float]] = {}
    for entry in entries:
        key, sep, numbers = entry.rpartition("=")
        if not sep or not key.strip():
            raise OptionError(f"{option} expects name=v1,v2,... entries separated by ';' "
                              f"(e.g. 'r=30,90,180,365; f=2,3,5,10'), got {entry.strip()!r}")
        values = []
        for part in numbers.split(","):
            if part.strip():
                try:
                    values.append(float(part))
                except ValueError:
                    raise OptionError(f"{option}: {part.strip()!r} is not a number") from None
        out[key.strip()] = values
    return out
