"""Scoring customers: calibrated probability, decile, alert, reasons, and whom to call first.

Reasons are the largest positive per-customer contributions to the raw score
(LightGBM's ``pred_contrib``, TreeSHAP: the contributions and the bias sum to
the raw score), worded against the feature's training median:
``voice_min_trend low (-0.62)``, ``plan = prepaid_basic``, ``sms_last
missing``. They are computed for alerted customers (red, amber) unless
*reasons* is ``all``.

Retention priority (``value``): the value kept by a save is ``value x
horizon_months`` for a monthly margin (``value_kind="margin"``) and the value
itself for a lifetime value (``"clv"``: it already prices in retention).
``expected_loss = p_churn x kept_value`` and ``expected_net = p_churn x
save_rate x kept_value - offer_cost``; rows are sorted by ``expected_net``.
With *capacity* N the N customers with the highest positive ``expected_net``
are marked ``call`` with ``priority`` 1..N; a customer whose ``expected_net``
is zero or less is never called, whatever the risk: the offer would cost more
than it saves.

Examples
--------
>>> word("voice_min_trend", -0.6234, 0.01)
'voice_min_trend low (-0.623)'
>>> word("revenue_last", 2120.5, 30.0)
'revenue_last high (2120)'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.churn._evaluate import decile_of
from segment.churn._features import AS_OF, check_unique
from segment.churn._model import ChurnModel, calibrated, matrix
from segment.columns import count_missing, warn_missing
from segment.errors import ColumnNotFoundError, DataError, OptionError, SegmentWarning

Progress = Callable[[str, int, int | None], None]

REASONS = 3
REASON_MODES = ("alerted", "all")
#: How contributions are computed: TreeSHAP (LightGBM's ``pred_contrib``), or the path
#: attribution (each split on a customer's path credits its feature with the change in the
#: node's expected value); ``auto`` = TreeSHAP up to :data:`SHAP_ROWS` customers with reasons.
CONTRIB_METHODS = ("auto", "shap", "path")
SHAP_ROWS = 50_000
VALUE_KINDS = ("margin", "clv")
#: Rows scored at a time, so that 10M customers never sit in memory as one float matrix.
CHUNK = 1_000_000


@dataclass
class Scores:
    """What :func:`score` returns: the call list and counts for the summary."""

    table: pl.DataFrame
    id: str
    stats: dict[str, Any] = field(default_factory=dict)


def _number(value: float) -> str:
    """A value as people read it: whole above 100, else 3 significant digits."""
    if abs(value) >= 100:
        return str(int(round(value)))
    return f"{value:.3g}"


def word(name: str, value: Any, median: float | None = None, kind: str = "number") -> str:
    """The reason text for one feature value (see module docstring)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name} missing"
    if kind == "category":
        return f"{name} = {value}"
    side = "high" if median is not None and value > median else "low"
    return f"{name} {side} ({_number(float(value))})"


def score(
    table: pl.DataFrame | pl.LazyFrame,
    model: ChurnModel,
    *,
    id: str | None = None,
    reasons: str = "alerted",
    value: str | None = None,
    value_kind: str = "margin",
    horizon_months: int = 12,
    offer_cost: float | None = None,
    save_rate: float | None = None,
    capacity: int | None = None,
    keep_features: bool = False,
    contrib: str = "auto",
    progress: Progress | None = None,
) -> Scores:
    """Score customers with a fitted model (see module docstring).

    Parameters
    ----------
    table
        One row per customer with the model's features (``churn features`` at the current month).
    model
        From :func:`segment.churn.load_model` or :func:`segment.churn.fit`.
    id
        Customer key (default: the model's).
    reasons
        ``alerted`` (red and amber customers) or ``all``.
    value, value_kind, horizon_months, offer_cost, save_rate, capacity
        Retention priority (see module docstring).
    contrib
        ``shap`` (TreeSHAP, exact; its cost grows with the square of the
        trees' depth: about 1.4 ms per customer for 150 trees of 31 leaves
        on one core), ``path`` (Saabas path attribution: the change in
        expected value at each split, about 100x cheaper; also sums to the
        raw score), or ``auto``: TreeSHAP when at most 50,000 customers get
        reasons, else path.
    keep_features
        Also write the model's feature columns, so that ``evaluate --previous``
        can compare each feature's distribution with an earlier scoring (PSI).
    """
    id = id or model.id
    if contrib not in CONTRIB_METHODS:
        raise OptionError(f"--contrib must be one of {', '.join(CONTRIB_METHODS)}, got {contrib!r}")
    if reasons not in REASON_MODES:
        raise OptionError(f"--reasons must be one of {', '.join(REASON_MODES)}, got {reasons!r}")
    _check_value_options(value, value_kind, horizon_months, offer_cost, save_rate, capacity)
    lf = table.lazy()
    names = lf.collect_schema().names()
    for role, col in (("id", id), *((("value", value),) if value else ())):
        if col not in names:
            raise ColumnNotFoundError(col, names, role=role)
    features = model.features
    missing = [f["name"] for f in features if f["name"] not in names]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ColumnNotFoundError(missing[0], names, role=f"model feature{more}")
    keep = [c for c in (AS_OF, model.target) if c in names and c != id]
    frame = lf.select(id, *keep, *([value] if value and value not in keep else []),
                      *[f["name"] for f in features if f["name"] not in (id, *keep, value)]).collect()
    if frame.height == 0:
        raise DataError("no customers to score")
    warn_missing(count_missing(frame, [f["name"] for f in features]), then="scored as missing (the model's branch for "
                 "missing values)", stacklevel=2)
    check_unique(frame, id)
    booster = model.booster()
    th = model.spec["thresholds"]
    report = progress or (lambda task, done, total: None)
    n = frame.height
    p = np.empty(n)
    alert = np.empty(n, dtype=object)
    texts: list[list[Any]] = [[None] * n for _ in range(REASONS)]
    contribs = [np.full(n, np.nan) for _ in range(REASONS)]
    unseen: dict[str, int] = {}
    method = contrib
    if method == "auto":
        expected = n if reasons == "all" else n * th.get("top", [0, 1.0])[-1] if th["by"] == "capacity" else n
        method = "shap" if expected <= SHAP_ROWS else "path"
    paths = path_tables(booster, len(features)) if method == "path" else None
    for lo in range(0, n, CHUNK):
        report("scoring", lo, n)
        part = frame.slice(lo, CHUNK)
        x, bad = matrix(part, features)
        for k, v in bad.items():
            unseen[k] = unseen.get(k, 0) + v
        pp = calibrated(booster.predict(x, raw_score=True, num_threads=model.threads), model.spec["calibration"])
        p[lo:lo + len(pp)] = pp
        level = np.where(pp >= th["red"], "red", np.where(pp >= th["amber"], "amber", "green"))
        alert[lo:lo + len(pp)] = level
        rows = np.arange(len(pp)) if reasons == "all" else np.flatnonzero(level != "green")
        if rows.size:
            c = (booster.predict(x[rows], pred_contrib=True, num_threads=model.threads)[:, :-1] if paths is None
                 else path_contributions(booster, paths, x[rows], model.threads))
            _reasons(c, part, rows, features, lo, texts, contribs)
    report("scoring", n, n)
    if unseen:
        listing = ", ".join(f"{k}: {v:,}" for k, v in sorted(unseen.items()))
        warnings.warn(f"category levels unseen at fit time scored as missing ({listing})", SegmentWarning,
                      stacklevel=2)
    carried = [pl.col(c).cast(pl.Int8, strict=False) if c == model.target and frame.schema[c].is_numeric()
               else pl.col(c) for c in keep]  # a 0/1 label read from text with missing markers is a float
    out = frame.select(id, *carried).with_columns(
        p_churn=pl.Series(p), decile=pl.Series(decile_of(p), dtype=pl.Int8),
        alert=pl.Series(alert.astype(str), dtype=pl.Enum(["red", "amber", "green"])),
        **{f"reason_{k + 1}": pl.Series(texts[k], dtype=pl.String) for k in range(REASONS)},
        **{f"contrib_{k + 1}": pl.Series(contribs[k]).fill_nan(None) for k in range(REASONS)},
    )
    if keep_features:
        out = out.with_columns(frame.select(f["name"] for f in features if f["name"] not in out.columns))
    if value:
        out = _priority(out, frame[value], value, value_kind, horizon_months, offer_cost, save_rate,  # type: ignore[arg-type]
                        capacity)
    else:
        out = out.sort("p_churn", descending=True, maintain_order=True)
        if capacity is not None:
            rank = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
            out = out.with_columns(priority=pl.when(rank <= capacity).then(rank), call=rank <= capacity)
    counts = dict(out["alert"].cast(pl.String).value_counts().rows())
    stats = {"customers": n, "alerts": {k: int(counts.get(k, 0)) for k in ("red", "amber", "green")},
             "contributions": "TreeSHAP" if method == "shap" else "path attribution",
             "unseen_levels": unseen, "thresholds": th}
    if value:
        stats["called"] = int(out["call"].sum()) if "call" in out.columns else None
    return Scores(table=out, id=id, stats=stats)


def _check_value_options(value: str | None, value_kind: str, horizon_months: int, offer_cost: float | None,
                         save_rate: float | None, capacity: int | None) -> None:
    if value_kind not in VALUE_KINDS:
        raise OptionError(f"--value-kind must be one of {', '.join(VALUE_KINDS)}, got {value_kind!r}")
    if value is None:
        for flag, given in (("--offer-cost", offer_cost), ("--save-rate", save_rate)):
            if given is not None:
                raise OptionError(f"{flag} needs --value COL (the monthly margin or CLV of each customer)")
    else:
        if offer_cost is None or save_rate is None:
            raise OptionError("--value needs --offer-cost C (cost of one retention offer) and --save-rate S "
                              "(share of contacted churners the offer keeps, e.g. 0.3)")
        if offer_cost < 0:
            raise OptionError(f"--offer-cost must be zero or more, got {offer_cost}")
        if not 0 < save_rate <= 1:
            raise OptionError(f"--save-rate must be a share between 0 and 1 (0.3 = 30%), got {save_rate}")
    if horizon_months < 1:
        raise OptionError(f"--horizon-months must be at least 1, got {horizon_months}")
    if capacity is not None and capacity < 1:
        raise OptionError(f"--capacity must be at least 1 customer, got {capacity}")


def path_tables(booster: Any, n_features: int) -> tuple[list[np.ndarray], float]:
    """Per tree, the path attribution of each leaf (leaf x feature), and the bias (the roots' values).

    A leaf's row credits each split on the path from the root with the
    change in expected value (LightGBM's ``internal_value``) from the node
    to its child, to the split's feature; the bias plus a leaf's row is the
    leaf's value, so a customer's contributions plus the bias sum to the raw
    score.
    """
    bias = 0.0
    tables = []
    for tree in booster.dump_model()["tree_info"]:
        root = tree["tree_structure"]
        table = np.zeros((tree["num_leaves"], n_features))
        if "split_feature" not in root:  # a tree of one leaf
            bias += float(root["leaf_value"])
            tables.append(table)
            continue
        bias += float(root["internal_value"])
        stack = [(root, np.zeros(n_features))]
        while stack:
            node, acc = stack.pop()
            if "split_feature" not in node:
                table[node.get("leaf_index", 0)] = acc
                continue
            for child in (node["left_child"], node["right_child"]):
                value = child["internal_value"] if "split_feature" in child else child["leaf_value"]
                step = acc.copy()
                step[node["split_feature"]] += value - node["internal_value"]
                stack.append((child, step))
        tables.append(table)
    return tables, bias


def path_contributions(booster: Any, paths: tuple[list[np.ndarray], float], x: np.ndarray, threads: int,
                       chunk: int = 50_000) -> np.ndarray:
    """Path attribution of *x*'s rows (rows x features): a gather of each tree's leaf rows."""
    tables, _ = paths
    out = np.zeros((len(x), tables[0].shape[1]) if tables else (len(x), 0))
    for lo in range(0, len(x), chunk):
        leaves = booster.predict(x[lo:lo + chunk], pred_leaf=True, num_threads=threads)
        leaves = leaves.reshape(len(leaves), -1)
        acc = out[lo:lo + chunk]
        for t, table in enumerate(tables):
            acc += table[leaves[:, t]]
    return out


def _reasons(c: np.ndarray, part: pl.DataFrame, rows: np.ndarray, features: list[dict[str, Any]],
             offset: int, texts: list[list[Any]], contribs: list[np.ndarray]) -> None:
    """Top positive contributions *c* of *rows* (positions in *part*), written into *texts* / *contribs*."""
    order = np.argsort(-c, axis=1, kind="stable")[:, :REASONS]
    top = np.take_along_axis(c, order, axis=1)
    columns = {}
    for j in np.unique(order):
        f = features[j]
        columns[j] = part[f["name"]].gather(pl.Series(rows)).to_list()
    for r in range(len(rows)):
        for k in range(min(REASONS, order.shape[1])):
            if top[r, k] <= 0:
                break
            j = int(order[r, k])
            f = features[j]
            texts[k][offset + rows[r]] = word(f["name"], columns[j][r], f.get("median"), f["kind"])
            contribs[k][offset + rows[r]] = top[r, k]


def _priority(out: pl.DataFrame, value: pl.Series, name: str, kind: str, horizon_months: int, offer_cost: float,
              save_rate: float, capacity: int | None) -> pl.DataFrame:
    if not (value.dtype.is_numeric()):
        raise DataError(f"--value column {name!r} must hold numbers (a monthly margin or a lifetime value), "
                        f"but it is {value.dtype}")
    v = value.cast(pl.Float64)
    if v.null_count():
        warnings.warn(f"{v.null_count():,} customers have no {name!r} value: never called", SegmentWarning,
                      stacklevel=3)
    kept = v * horizon_months if kind == "margin" else v
    out = out.with_columns(kept_value=kept)
    out = out.with_columns(expected_loss=pl.col("p_churn") * pl.col("kept_value"),
                           expected_net=pl.col("p_churn") * save_rate * pl.col("kept_value") - offer_cost)
    out = out.sort("expected_net", descending=True, nulls_last=True, maintain_order=True)
    if capacity is not None:
        worth = pl.col("expected_net") > 0
        rank = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        call = worth.fill_null(False) & (rank <= capacity)
        out = out.with_columns(priority=pl.when(call).then(rank), call=call)
    return out
