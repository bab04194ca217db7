"""Named RFM value segments: a table of score ranges, first match wins.

The default table is the one popularised by the R ``rfm`` package
(``rfm_segment`` documentation), for scores 1-5. A customer matching no
row is ``Others``, so every customer ends in exactly one segment.

A custom table is TOML::

    [[segment]]
    name = "Champions"
    r = [4, 5]
    f = [4, 5]
    m = [4, 5]

or CSV with columns ``segment,r_min,r_max,f_min,f_max,m_min,m_max``.

Examples
--------
>>> rules = default_segments()
>>> [r.name for r in rules][:3]
['Champions', 'Loyal Customers', 'Potential Loyalist']
>>> rules[0]
SegmentRule(name='Champions', r=(4, 5), f=(4, 5), m=(4, 5))
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from segment.errors import InputError, OptionError

OTHERS = "Others"


@dataclass(frozen=True)
class SegmentRule:
    """One named segment: inclusive score ranges for R, F and M."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]


_DEFAULT = [
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal Customers", (2, 5), (3, 5), (3, 5)),
    ("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    ("New Customers", (4, 5), (1, 1), (1, 1)),
    ("Promising", (3, 4), (1, 1), (1, 1)),
    ("Need Attention", (2, 3), (2, 3), (2, 3)),
    ("About To Sleep", (2, 3), (1, 2), (1, 2)),
    ("At Risk", (1, 2), (2, 5), (2, 5)),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    ("Lost", (1, 2), (1, 2), (1, 2)),
]


def default_segments() -> list[SegmentRule]:
    """The default ten segments for 1-5 scores."""
    return [SegmentRule(n, r, f, m) for n, r, f, m in _DEFAULT]


def load_segments(path: str | Path) -> list[SegmentRule]:
    """Read a segment table from TOML or CSV (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"segment table {str(path)!r} does not exist")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"segment table {str(path)!r} is not valid TOML: {exc}") from None
        entries = data.get("segment")
        if not isinstance(entries, list) or not entries:
            raise InputError(f"segment table {str(path)!r} needs [[segment]] entries with name, r, f, m")
        rules = []
        for i, e in enumerate(entries, 1):
            try:
                rules.append(SegmentRule(str(e["name"]), _pair(e["r"]), _pair(e["f"]), _pair(e["m"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(
                    f"segment {i} in {str(path)!r} needs name and r, f, m as [low, high]: {exc}"
                ) from None
        return _checked(rules, path)
    try:
        df = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"segment table {str(path)!r} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    need = ["segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"segment table {str(path)!r} lacks columns {', '.join(missing)} (needs {', '.join(need)})")
    if df.height == 0:
        raise InputError(f"segment table {str(path)!r} has no segments, only a header")
    rules = []
    for i, row in enumerate(df.iter_rows(named=True), 1):
        try:
            rules.append(SegmentRule(str(row["segment"]), _pair((row["r_min"], row["r_max"])),
                                     _pair((row["f_min"], row["f_max"])), _pair((row["m_min"], row["m_max"]))))
        except (TypeError, ValueError):
            raise InputError(f"segment {i} ({row['segment']!r}) in {str(path)!r}: score ranges must be whole "
                             "numbers such as 1 and 5") from None
    return _checked(rules, path)


def _pair(v: object) -> tuple[int, int]:
    lo, hi = v  # type: ignore[misc]
    return int(lo), int(hi)


def _checked(rules: list[SegmentRule], path: Path) -> list[SegmentRule]:
    for rule in rules:
        for axis in ("r", "f", "m"):
            lo, hi = getattr(rule, axis)
            if lo > hi:
                raise InputError(f"segment {rule.name!r} in {str(path)!r}: {axis} range {lo}..{hi} is reversed")
    return rules


def check_fits(rules: list[SegmentRule], bins: int) -> None:
    """Refuse a table whose ranges go beyond the scores 1..bins."""
    for rule in rules:
        for axis in ("r", "f", "m"):
            lo, hi = getattr(rule, axis)
            if lo < 1 or hi > bins:
                raise OptionError(
                    f"segment {rule.name!r} uses {axis} scores {lo}..{hi}, outside 1..{bins}; "
                    f"pass --segments FILE written for {bins} bins, or --segments none"
                )


def segment_expr(rules: list[SegmentRule], r: str = "r_score", f: str = "f_score", m: str = "m_score") -> pl.Expr:
    """Expression naming each row's first matching segment, else ``Others``."""
    expr = pl.when(pl.lit(False)).then(pl.lit(OTHERS))
    for rule in rules:
        cond = (
            pl.col(r).is_between(*rule.r) & pl.col(f).is_between(*rule.f) & pl.col(m).is_between(*rule.m)
        )
        expr = expr.when(cond).then(pl.lit(rule.name))
    return expr.otherwise(pl.lit(OTHERS))
