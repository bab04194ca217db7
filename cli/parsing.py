"""Parsers for option values with structure (lists, key=value maps)."""

from __future__ import annotations

from segment.errors import OptionError


def split_list(value: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None stays None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_breaks(value: str | None, option: str = "--breaks") -> dict[str, list[float]] | None:
    """``"r=30,90;f=2,5"`` or ``"r=30,90 f=2,5"`` -> ``{"r": [30, 90], "f": [2, 5]}``."""
    if not value:
        return None
    out: dict[str, list[float]] = {}
    key = None
    for token in value.replace(";", " ").split():
        if "=" in token:
            key, _, rest = token.partition("=")
            key = key.strip()
            out[key] = []
            token = rest
        if key is None:
            raise OptionError(f"{option} expects key=v1,v2,... (e.g. r=30,90,180,365), got {value!r}")
        for part in token.split(","):
            if part.strip():
                try:
                    out[key].append(float(part))
                except ValueError:
                    raise OptionError(f"{option}: {part!r} is not a number") from None
    return out
