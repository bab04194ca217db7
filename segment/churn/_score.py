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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
#: Customers whose reasons are worked out at a time: their contributions, sort order and
#: copies take about 1.2 KB each (50 features), 1.2 GB for 1M customers at once.
CONTRIB_ROWS = 100_000


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
    batch_rows: int = CHUNK,
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
    names_f = [f["name"] for f in features]
    own = [n for n in names_f if n not in (id, *keep, value)]
    value_col = [value] if value and value not in keep else []
    # Every row keeps only its id, the carried columns and its score; the feature values
    # stay in memory only for the customers who get reasons (or with keep_features).
    carried_cols = [id, *keep, *value_col, *([n for n in own] if keep_features else [])]
    booster = model.booster()
    th = model.spec["thresholds"]
    report = progress or (lambda task, done, total: None)
    explain = _Explainer(booster, features, model.threads)
    # ``auto`` picks TreeSHAP when few enough customers get reasons, by the final count; the
    # count only grows, so once it is past SHAP_ROWS every later batch is explained as it comes
    # (path) and only the batches read before that wait, holding their candidates' features.
    method = None if contrib == "auto" else contrib
    batches: list[list[Any]] = []
    pending: list[tuple[int, np.ndarray, pl.DataFrame]] = []
    missing: dict[str, int] = {}
    unseen: dict[str, int] = {}
    n = 0
    report("scoring", 0, None)
    def prepare(part: pl.DataFrame) -> tuple[dict[str, int], np.ndarray, dict[str, int]]:
        return count_missing(part, names_f), *matrix(part, features)

    reading = lf.select(id, *keep, *value_col, *own).collect_batches(chunk_size=batch_rows)
    for part, (nulls, x, bad) in _prefetched((p for p in reading if p.height), prepare):
        for k, v in nulls.items():
            missing[k] = missing.get(k, 0) + v
        for k, v in bad.items():
            unseen[k] = unseen.get(k, 0) + v
        pp = calibrated(booster.predict(x, raw_score=True, num_threads=model.threads), model.spec["calibration"])
        level = np.where(pp >= th["red"], 0, np.where(pp >= th["amber"], 1, 2)).astype(np.int8)
        rows = np.arange(len(pp)) if reasons == "all" else np.flatnonzero(level != 2)
        n += part.height
        if method is None and _expected(n, reasons, th) > SHAP_ROWS:
            method = "path"
        explained = None
        if rows.size:
            cx, cf = x[rows], part.select(names_f).gather(pl.Series(rows))
            if method is None:
                pending.append((len(batches), cx, cf))
            else:
                explained = explain(method, cx, cf)
        del x
        batches.append([part.select(carried_cols), pp, level, rows, explained])
        report("scoring", n, None)
    if n == 0:
        raise DataError("no customers to score")
    warn_missing({k: missing[k] for k in names_f if k in missing}, then="scored as missing (the model's branch "
                 "for missing values)", stacklevel=2)
    if method is None:
        method = "shap" if _expected(n, reasons, th) <= SHAP_ROWS else "path"
    for i, cx, cf in pending:
        batches[i][4] = explain(method, cx, cf)
    del pending
    frame = pl.concat([b[0] for b in batches], rechunk=True)
    check_unique(frame, id)
    p = np.concatenate([b[1] for b in batches])
    codes = np.concatenate([b[2] for b in batches])
    texts = [pl.concat([_spread(b[2].size, b[3], None if b[4] is None else b[4][0][k]) for b in batches],
                       rechunk=True) for k in range(REASONS)]
    contribs = [np.concatenate([_spread_values(b[2].size, b[3], None if b[4] is None else b[4][1][:, k])
                                for b in batches]) for k in range(REASONS)]
    del batches
    report("scoring", n, n)
    if unseen:
        listing = ", ".join(f"{k}: {v:,}" for k, v in sorted(unseen.items()))
        warnings.warn(f"category levels unseen at fit time scored as missing ({listing})", SegmentWarning,
                      stacklevel=2)
    carried = [pl.col(c).cast(pl.Int8, strict=False) if c == model.target and frame.schema[c].is_numeric()
               else pl.col(c) for c in keep]  # a 0/1 label read from text with missing markers is a float
    levels = pl.Series(["red", "amber", "green"], dtype=pl.Enum(["red", "amber", "green"]))
    out = frame.select(id, *carried).with_columns(
        p_churn=pl.Series(p), decile=pl.Series(decile_of(p), dtype=pl.Int8),
        alert=levels.gather(codes),  # 10M words through numpy took 2 s
        **{f"reason_{k + 1}": texts[k] for k in range(REASONS)},
        **{f"contrib_{k + 1}": pl.Series(contribs[k]).fill_nan(None) for k in range(REASONS)},
    )
    if keep_features:
        out = out.with_columns(frame.select(f for f in names_f if f not in out.columns))
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
    """Path attribution of *x*'s rows (rows x features): the sum of each tree's leaf row, tree by tree.

    The sum is a sparse product (one 1 per row and tree, in the trees' order,
    times the stacked leaf tables): each row adds its trees' rows in the same
    order as a loop over the trees would, 3x faster than gathering them.
    """
    from scipy import sparse

    tables, _ = paths
    if not tables:
        return np.zeros((len(x), 0))
    stacked = np.vstack(tables)
    offsets = np.cumsum([0] + [len(t) for t in tables[:-1]])
    out = np.empty((len(x), stacked.shape[1]))
    trees = len(tables)
    for lo in range(0, len(x), chunk):
        leaves = booster.predict(x[lo:lo + chunk], pred_leaf=True, num_threads=threads)
        leaves = leaves.reshape(len(leaves), -1) + offsets[None, :]
        rows = len(leaves)
        onehot = sparse.csr_matrix((np.ones(rows * trees), leaves.ravel(), np.arange(0, rows * trees + 1, trees)),
                                   shape=(rows, len(stacked)))
        out[lo:lo + rows] = onehot @ stacked
    return out


def _prefetched(parts: Iterator[pl.DataFrame], prepare: Callable[[pl.DataFrame], Any]
                ) -> Iterator[tuple[pl.DataFrame, Any]]:
    """``(part, prepare(part))`` for each part, reading and preparing the next one in a thread meanwhile.

    While LightGBM scores one batch the next one is read and turned into a
    matrix (polars and numpy release the interpreter's lock), so a core is
    not left idle during the reading. The parts come in their order.
    """
    def step() -> tuple[pl.DataFrame, Any] | None:
        part = next(parts, None)
        return None if part is None else (part, prepare(part))

    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(step)
        while (got := ahead.result()) is not None:
            ahead = pool.submit(step)
            yield got


def _expected(n: int, reasons: str, th: dict[str, Any]) -> float:
    """Customers expected to get reasons among *n* (``auto`` picks TreeSHAP up to SHAP_ROWS of them)."""
    return n if reasons == "all" else n * th.get("top", [0, 1.0])[-1] if th["by"] == "capacity" else n


def _spread(height: int, rows: np.ndarray, values: pl.Series | None) -> pl.Series:
    """A text column of *height* rows: *values* at *rows*, missing elsewhere."""
    out = pl.Series(values=[None], dtype=pl.String).extend_constant(None, height - 1) if height else \
        pl.Series(values=[], dtype=pl.String)
    return out if values is None or not len(rows) else out.scatter(rows, values)


def _spread_values(height: int, rows: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    out = np.full(height, np.nan)
    if values is not None:
        out[rows] = values
    return out


class _Explainer:
    """Reasons for candidate customers, CONTRIB_ROWS at a time: ``(texts per rank, contributions)``."""

    def __init__(self, booster: Any, features: list[dict[str, Any]], threads: int) -> None:
        self.booster, self.features, self.threads = booster, features, threads
        self.paths: tuple[list[np.ndarray], float] | None = None

    def __call__(self, method: str, x: np.ndarray, frame: pl.DataFrame) -> tuple[list[pl.Series], np.ndarray]:
        if method == "path" and self.paths is None:
            self.paths = path_tables(self.booster, len(self.features))
        texts: list[list[pl.Series]] = [[] for _ in range(REASONS)]
        values = []
        for lo in range(0, len(x), CONTRIB_ROWS):
            xs = x[lo:lo + CONTRIB_ROWS]
            c = (self.booster.predict(xs, pred_contrib=True, num_threads=self.threads)[:, :-1] if method == "shap"
                 else path_contributions(self.booster, self.paths, xs, self.threads))
            words, top = reasons_of(c, frame.slice(lo, CONTRIB_ROWS), self.features)
            for k in range(REASONS):
                texts[k].append(words[k])
            values.append(top)
        return [pl.concat(t, rechunk=True) for t in texts], np.concatenate(values)


def top_contributions(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the REASONS largest contributions per row (ties: the first feature) and their values.

    The same order as a stable sort of ``-c``; three passes of ``argmax``
    instead of sorting all the features of every row.

    >>> order, top = top_contributions(np.array([[0.1, 0.3, 0.3, -0.2]]))
    >>> order.tolist(), top.tolist()
    ([[1, 2, 0]], [[0.3, 0.3, 0.1]])
    """
    k = min(REASONS, c.shape[1])
    if not np.isfinite(c).all():  # argmax and -inf as a taken mark disagree with the sort there
        order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    else:
        left = c.copy()
        rows = np.arange(len(c))
        order = np.empty((len(c), k), dtype=np.int64)
        for r in range(k):
            order[:, r] = left.argmax(axis=1)
            left[rows, order[:, r]] = -np.inf
    return order, np.take_along_axis(c, order, axis=1)


def reasons_of(c: np.ndarray, frame: pl.DataFrame, features: list[dict[str, Any]]
               ) -> tuple[list[pl.Series], np.ndarray]:
    """The reason texts (one column per rank) and contributions (rows x REASONS, NaN: none) of each row.

    A rank is worded while every contribution up to it is positive, for each
    feature at once over the rows it explains (:func:`worded`).

    >>> features = [{"name": "calls", "kind": "number", "median": 4.0},
    ...             {"name": "plan", "kind": "category", "levels": ["a", "b"]}]
    >>> frame = pl.DataFrame({"calls": [9, None], "plan": ["b", "a"]})
    >>> texts, top = reasons_of(np.array([[0.5, 0.2], [0.4, -0.1]]), frame, features)
    >>> [t.to_list() for t in texts]
    [['calls high (9)', 'calls missing'], ['plan = b', None], [None, None]]
    """
    m = len(c)
    order, top = top_contributions(c)
    texts, values = [], np.full((m, REASONS), np.nan)
    shown = np.ones(m, dtype=bool)
    for k in range(REASONS):
        if k >= order.shape[1]:
            texts.append(_spread(m, np.zeros(0, dtype=np.int64), None))
            continue
        shown &= ~(top[:, k] <= 0)  # the reference stopped at the first contribution <= 0
        values[shown, k] = top[shown, k]
        idx_parts, text_parts = [], []
        for j in np.unique(order[shown, k]):
            idx = np.flatnonzero(shown & (order[:, k] == j))
            f = features[j]
            idx_parts.append(idx)
            text_parts.append(worded(f, frame[f["name"]].gather(pl.Series(idx))))
        if idx_parts:
            texts.append(_spread(m, np.concatenate(idx_parts), pl.concat(text_parts)))
        else:
            texts.append(_spread(m, np.zeros(0, dtype=np.int64), None))
    return texts, values


def worded(feature: dict[str, Any], values: pl.Series) -> pl.Series:
    """:func:`word` for every value of one feature, vectorised (numbers as :func:`numbers_text`).

    Values that the vectorised form cannot word exactly like :func:`word`
    (a category column that is not text; numbers beyond 2**53, infinite or
    tiny; a number on a rounding tie) are worded by :func:`word` itself.

    >>> worded({"name": "x", "kind": "number", "median": 1.0},
    ...        pl.Series([0.5, 2.0, None, 123.5, -0.00001234])).to_list()
    ['x low (0.5)', 'x high (2)', 'x missing', 'x high (124)', 'x low (-1.23e-05)']
    """
    name, median, kind = feature["name"], feature.get("median"), feature["kind"]
    if kind == "category":
        if values.dtype == pl.String or values.dtype == pl.Categorical or isinstance(values.dtype, pl.Enum):
            text = values.cast(pl.String)
            return (pl.select(pl.when(text.is_null()).then(pl.lit(f"{name} missing"))
                              .otherwise(pl.lit(f"{name} = ") + text)).to_series().alias(""))
        return pl.Series(values=[word(name, v, median, kind) for v in values.to_list()], dtype=pl.String)
    v = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    absent = np.isnan(v)
    number, exact = numbers_text(np.where(absent, 0.0, v))
    exact |= absent
    side = pl.Series(np.where(v > median, " high (", " low (") if median is not None else
                     np.full(len(v), " low ("), dtype=pl.String)
    text = pl.select(pl.when(pl.Series(absent)).then(pl.lit(f"{name} missing"))
                     .otherwise(pl.concat_str(pl.lit(name), side, number, pl.lit(")")))).to_series().alias("")
    if not exact.all():
        odd = np.flatnonzero(~exact)
        text = text.scatter(odd, pl.Series([word(name, x, median, kind) for x in values.gather(odd).to_list()],
                                           dtype=pl.String))
    return text


def numbers_text(v: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    """``_number`` of each value, vectorised, and where it is exact (elsewhere call ``_number``).

    Whole (rounded half to even) from 100 on, else three significant digits
    as Python's ``format(v, ".3g")``: the value scaled to three digits and
    rounded, then written fixed from 1e-4 on, else in scientific notation.
    The scaling is exact (a power of ten up to 1e22), so only a value within
    1e-6 of a rounding tie, or with a decimal exponent misread by ``log10``,
    is left to ``_number``.

    >>> text, exact = numbers_text(np.array([0.0, -0.0, 99.96, 0.001234, 0.00001, 2.5e15, 1234.5]))
    >>> text.to_list(), exact.tolist()
    (['0', '-0', '100', '0.00123', '1e-05', '2500000000000000', '1234'], [True, True, True, True, True, True, True])
    """
    a = np.abs(v)
    neg = np.signbit(v)
    finite = np.isfinite(v)
    whole = finite & (a >= 100)
    exact = finite & (a < 2.0 ** 53)
    zero = a == 0
    small = finite & ~whole & ~zero
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(small, np.floor(np.log10(np.where(small, a, 1.0))), 0).astype(np.int64)
        scaled = np.where(small & (e >= -20), a * 10.0 ** np.clip(2 - e, 0, 22), 0.0)
    exact &= ~small | ((e >= -20) & (scaled >= 100) & (scaled < 1000) & (np.abs(scaled % 1 - 0.5) >= 1e-6))
    digits = np.rint(scaled).astype(np.int64)
    carry = digits == 1000
    digits = np.where(carry, 100, digits)
    e = e + carry
    sci = small & (e < -4)
    places = np.where(sci, 2, np.clip(2 - e, 0, None))
    ones = np.where(whole & exact, np.abs(np.rint(np.where(exact, v, 0.0))), digits // 10 ** places).astype(np.int64)
    rest = np.where(whole | zero, 0, digits % 10 ** places)
    frame = pl.DataFrame({"neg": neg, "ones": ones, "rest": rest, "places": places, "sci": sci, "e": -e})
    fraction = pl.col("rest").cast(pl.String).str.zfill(pl.col("places")).str.strip_chars_end("0")
    mantissa = pl.when(fraction == "").then(pl.col("ones").cast(pl.String)).otherwise(
        pl.concat_str(pl.col("ones").cast(pl.String), pl.lit("."), fraction))
    text = frame.select(pl.concat_str(
        pl.when(pl.col("neg")).then(pl.lit("-")).otherwise(pl.lit("")), mantissa,
        pl.when(pl.col("sci")).then(pl.lit("e-") + pl.col("e").cast(pl.String).str.zfill(2)).otherwise(pl.lit(""))
    )).to_series()
    return text, exact


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
