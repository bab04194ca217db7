"""Fitting the churn model: LightGBM (native API), Platt calibration, alert thresholds, a text model folder.

The model folder holds text and JSON only, never pickle, and no timestamps
or absolute paths, so the same input, options and seed give the same bytes:

``model.txt``
    LightGBM's own text model (diffable, safe to load).
``model.json``
    Format and version, id and target, the features with their kinds,
    category levels and training medians, the training window, the
    calibration, the alert thresholds and the LightGBM parameters.
``metrics.json``
    How the validation rows were chosen, and the evaluation on them.

Rows are split three ways. With several as-of months (out of time): the
validation rows are the months from ``valid_from`` on (default: the last
as-of month), the calibration rows the last month before them, the training
rows the rest. A snapshot (one as-of month or none) is split at random,
stratified by the target: 25% validation, then 25% of the rest for
calibration. The model is trained on the training rows with early stopping on
the calibration rows; the calibration (Platt: a logistic curve on the raw
score) is fitted on the calibration rows; the reported metrics and the alert
thresholds come from the validation rows only.

Examples
--------
>>> platt_fit(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 0, 1, 1]))["a"] > 0
True
>>> parse_alert_top("5%,15%")
(0.05, 0.15)
>>> parse_alert_top("15%,5%")
Traceback (most recent call last):
...
segment.errors.OptionError: --alert-top must rise (red share, then red + amber share), e.g. 5%,15%; got 15%,5%
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import segment
from segment.churn._evaluate import Evaluation, evaluate, target_values
from segment.churn._features import AS_OF, check_unique, leaky_name
from segment.errors import ColumnNotFoundError, DataError, InputError, OptionError, OutputError, SegmentWarning
from segment.stats.sampling import share_value

Progress = Callable[[str, int, int | None], None]

FORMAT = "segment-churn"
FORMAT_VERSION = 1
MODEL_FILES = ("model.txt", "model.json", "metrics.json")
DEFAULT_ALERT_TOP = "5%,15%"
MIN_POSITIVES = 30
#: Rows whose contributions give the drivers in metrics.json (TreeSHAP per row is the costly part).
DRIVER_SAMPLE = 2_000
#: A text column with more distinct values than this (and than half the rows) is an identifier, not a category.
MAX_LEVELS = 1000


@dataclass
class ChurnModel:
    """A fitted churn model (see module docstring); :meth:`save` writes its folder."""

    model_text: str
    spec: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    _booster: Any = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.spec["id"]

    @property
    def target(self) -> str:
        return self.spec["target"]

    @property
    def features(self) -> list[dict[str, Any]]:
        return self.spec["features"]

    @property
    def threads(self) -> int:
        return int(self.spec["params"]["num_threads"])

    def booster(self) -> Any:
        """The LightGBM booster, loaded from the model text once."""
        if self._booster is None:
            lgb = lightgbm()
            self._booster = lgb.Booster(model_str=self.model_text)
        return self._booster

    def files(self) -> dict[str, str]:
        """File name -> text of the model folder."""
        return {"model.txt": self.model_text, "model.json": _json(self.spec), "metrics.json": _json(self.metrics)}

    def save(self, folder: str | Path) -> None:
        """Write the model folder atomically: a new folder beside it, renamed into place."""
        target = check_model_target(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        try:
            for name, text in self.files().items():
                (tmp / name).write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o777 & ~_umask())
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                os.replace(target, old / "x")
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def lightgbm() -> Any:
    """Import LightGBM with OpenMP threads that sleep while they wait.

    OpenMP's default spin-wait made training 20x slower with 2 threads on a
    shared, loaded 2-core machine (other processes took the spinning
    threads' cores); passive waiting costs nothing on an idle one. A value
    the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import lightgbm as lgb

    return lgb


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def check_model_target(folder: str | Path) -> Path:
    """Where a model folder may be written: new, empty, or an earlier model folder (replaced)."""
    target = Path(folder)
    if str(folder) in ("", "-"):
        raise OutputError("-o needs a folder for the model (text and JSON files)")
    if target.exists() and not target.is_dir():
        raise OutputError(f"-o {str(folder)!r} is a file; the model is a folder of text and JSON files")
    if target.is_dir() and any(target.iterdir()) and not (target / "model.json").is_file():
        raise OutputError(f"-o {str(folder)!r} is a folder that is not a segment churn model; "
                          "give a new folder name")
    if not target.parent.is_dir():
        raise OutputError(f"output folder {str(target.parent)!r} does not exist")
    return target


def load_model(folder: str | Path) -> ChurnModel:
    """Read a model folder written by :meth:`ChurnModel.save`.

    Raises
    ------
    InputError
        The folder is missing, is not a segment churn model, or was made by
        an incompatible version.
    """
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"--model {str(folder)!r} does not exist or is not a folder")
    meta = path / "model.json"
    if not meta.is_file() or not (path / "model.txt").is_file():
        raise InputError(f"--model {str(folder)!r} is not a segment churn model folder "
                         "(it needs model.json and model.txt from segment churn fit)")
    try:
        spec = json.loads(meta.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--model {str(folder)!r}: model.json is not valid JSON ({exc})") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise InputError(f"--model {str(folder)!r} is not a segment churn model folder "
                         f"(model.json does not say format {FORMAT!r})")
    if spec.get("format_version") != FORMAT_VERSION:
        raise InputError(f"--model {str(folder)!r} was made by an incompatible version of segment (model format "
                         f"{spec.get('format_version')!r}, made by {spec.get('made_by')!r}; this version reads format "
                         f"{FORMAT_VERSION}); fit it again")
    text = (path / "model.txt").read_text(encoding="utf-8")
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    return ChurnModel(model_text=text, spec=spec, metrics=metrics)


def parse_alert_top(value: str) -> tuple[float, float]:
    """``5%,15%`` (or ``0.05,0.15``): the shares of customers alerted red, and red + amber."""
    parts = [p.strip() for p in str(value).split(",")]
    if len(parts) != 2:
        raise OptionError(f"--alert-top expects two shares (red, then red + amber) like 5%,15%; got {value!r}")
    shares = [share_value(p, "--alert-top") for p in parts]
    if not all(0 < s < 1 for s in shares):
        raise OptionError(f"--alert-top shares must be between 0% and 100%; got {value!r}")
    if shares[1] <= shares[0]:
        raise OptionError(f"--alert-top must rise (red share, then red + amber share), e.g. 5%,15%; got {value}")
    return shares[0], shares[1]


def platt_fit(raw: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Platt scaling: ``p = 1 / (1 + exp(-(a * raw + b)))`` by Newton steps, with Platt's smoothed targets."""
    pos = float(y.sum())
    neg = float(len(y) - pos)
    t = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * raw + b)))
        w = p * (1 - p) + 1e-12
        g = np.array([np.sum((p - t) * raw), np.sum(p - t)])
        h = np.array([[np.sum(w * raw * raw), np.sum(w * raw)], [np.sum(w * raw), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return {"method": "platt", "a": float(a), "b": float(b)}


def calibrated(raw: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    return 1 / (1 + np.exp(-(calibration["a"] * raw + calibration["b"])))


def _model_name(name: str, taken: set[str]) -> str:
    # LightGBM refuses JSON special characters in feature names; the real names stay in model.json.
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "feature"
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _describe_features(frame: pl.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    numbers = [c for c in columns if frame.schema[c].is_numeric() or frame.schema[c] == pl.Boolean]
    # One query for all medians, so polars spreads them over the cores (one by one they took
    # a tenth of the fit on 1M x 50).
    medians = frame.select(pl.col(c).cast(pl.Float64).drop_nulls().drop_nans().median() for c in numbers).row(0) \
        if numbers else ()
    median_of = dict(zip(numbers, medians, strict=True))
    for c in columns:
        dtype = frame.schema[c]
        if dtype.is_numeric() or dtype == pl.Boolean:
            med = median_of[c]
            out.append({"name": c, "kind": "number", "median": None if med is None else float(med),
                        "model_name": _model_name(c, taken)})
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            levels = sorted(frame[c].cast(pl.String).drop_nulls().unique().to_list())
            if len(levels) > MAX_LEVELS or (len(levels) > 50 and len(levels) > frame.height / 2):
                warnings.warn(f"column {c!r} has {len(levels):,} distinct values: left out as an identifier, "
                              "not a category", SegmentWarning, stacklevel=3)
                continue
            out.append({"name": c, "kind": "category", "levels": levels, "model_name": _model_name(c, taken)})
        else:
            warnings.warn(f"column {c!r} ({dtype}) is neither a number nor a category: left out", SegmentWarning,
                          stacklevel=3)
    return out


def matrix(frame: pl.DataFrame, features: Sequence[dict[str, Any]]) -> tuple[np.ndarray, dict[str, int]]:
    """The model matrix (float32): numbers as they are, categories as level codes; unseen levels missing.

    Returns the matrix and, per category feature, the count of values unseen at fit time.
    """
    exprs = []
    counts = []
    for f in features:
        s = frame[f["name"]]
        if f["kind"] == "number":
            if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
                raise DataError(f"feature {f['name']!r} was a number at fit time but is {s.dtype} here")
            exprs.append(pl.col(f["name"]).cast(pl.Float32))
        else:
            text = pl.col(f["name"]).cast(pl.String)
            codes = text.replace_strict(f["levels"], list(range(len(f["levels"]))), default=None,
                                        return_dtype=pl.Float32)
            exprs.append(codes)
            counts.append((codes.is_null() & text.is_not_null()).sum().alias(f["name"]))
    if not exprs:
        return np.zeros((frame.height, 0), np.float32), {}
    # One query and one row-major copy: column by column the copies took 5x longer.
    x = frame.select(e.fill_null(float("nan")).alias(str(i)) for i, e in enumerate(exprs)).to_numpy(order="c")
    x = x.astype(np.float32, copy=False)
    bad = frame.select(counts).row(0, named=True) if counts else {}
    unseen = {k: int(v) for k, v in bad.items() if v}
    return x, unseen


def _split(frame: pl.DataFrame, y: np.ndarray, valid_from: str | None, seed: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Masks of the training, calibration and validation rows, and how they were chosen."""
    n = frame.height
    months = sorted(frame[AS_OF].unique().to_list()) if AS_OF in frame.columns else []
    if len(months) >= 2 or valid_from is not None:
        if AS_OF not in frame.columns:
            raise OptionError(f"--valid-from needs an {AS_OF!r} column (features stacked over several as-of months)")
        if valid_from is None:
            cut = months[-1]
        else:
            from segment.lifecycle import month_label, parse_month_option

            code = parse_month_option(valid_from, "--valid-from")
            cut = next((m for m in months if month_label(m.year * 12 + m.month - 1) >= month_label(code)), None)
            if cut is None or cut == months[0]:
                raise OptionError(f"--valid-from {valid_from} leaves no {'validation' if cut is None else 'training'} "
                                  f"rows (as-of months {months[0]:%Y-%m} to {months[-1]:%Y-%m})")
        as_of = frame[AS_OF].to_numpy()
        valid = as_of >= np.datetime64(cut)
        before = [m for m in months if m < cut]
        if len(before) >= 2:
            cal = as_of == np.datetime64(before[-1])
            how = (f"out of time: trained on as-of {before[0]:%Y-%m} to {before[-2]:%Y-%m}, calibrated on "
                   f"{before[-1]:%Y-%m}, validated on {cut:%Y-%m} to {months[-1]:%Y-%m}")
        else:
            cal = _stratified(y, ~valid, 0.25, seed + 1)
            how = (f"out of time: trained and calibrated (25% stratified) on as-of {before[0]:%Y-%m}, "
                   f"validated on {cut:%Y-%m} to {months[-1]:%Y-%m}")
        kind = "out-of-time"
    else:
        valid = _stratified(y, np.ones(n, dtype=bool), 0.25, seed)
        cal = _stratified(y, ~valid, 0.25, seed + 1)
        how = "stratified holdout: 25% validation, 25% of the rest for calibration, the rest for training"
        kind = "holdout"
    train = ~valid & ~cal
    info = {"kind": kind, "how": how, "rows": {"train": int(train.sum()), "calibration": int(cal.sum()),
                                              "validation": int(valid.sum())},
            "churners": {"train": int(y[train].sum()), "calibration": int(y[cal].sum()),
                         "validation": int(y[valid].sum())}}
    for part, mask in (("training", train), ("calibration", cal), ("validation", valid)):
        if y[mask].sum() == 0 or y[mask].sum() == mask.sum():
            raise DataError(f"the {part} rows ({int(mask.sum()):,}) hold one class only; "
                            "give more rows or months, or move --valid-from")
    return train, cal, valid, info


def _stratified(y: np.ndarray, among: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(among & (y == cls))
        pick = rng.permutation(idx)[: int(round(share * len(idx)))]
        out[pick] = True
    return out


def lgb_params(*, seed: int, learning_rate: float, num_leaves: int, min_leaf: int, threads: int) -> dict[str, Any]:
    """The LightGBM parameters: deterministic, row-wise, fixed threads, bagging and feature sampling off."""
    return {"objective": "binary", "learning_rate": learning_rate, "num_leaves": num_leaves,
            "min_data_in_leaf": min_leaf, "lambda_l2": 1.0, "max_bin": 255, "feature_fraction": 1.0,
            "bagging_fraction": 1.0, "bagging_freq": 0, "deterministic": True, "force_row_wise": True,
            "num_threads": threads, "seed": seed, "verbosity": -1, "min_data_per_group": 50, "cat_smooth": 10.0}


def fit(
    table: pl.DataFrame | pl.LazyFrame,
    *,
    target: str = "churn",
    id: str = "customer_id",
    valid_from: str | None = None,
    alert_top: str | None = DEFAULT_ALERT_TOP,
    alert_p: tuple[float, float] | None = None,
    exclude: Sequence[str] = (),
    provenance: dict[str, Any] | None = None,
    seed: int = 0,
    rounds: int = 500,
    learning_rate: float = 0.05,
    num_leaves: int = 31,
    min_leaf: int = 50,
    threads: int = 2,
    progress: Progress | None = None,
) -> ChurnModel:
    """Fit the churn model on a features table (or a customer snapshot with a churn column).

    Parameters
    ----------
    table
        One row per customer (and as-of month): features, the id and the target.
    target
        The 0/1 churn column (also yes/no, true/false).
    valid_from
        First as-of month of the validation rows (out-of-time validation).
    alert_top
        Shares alerted red and red + amber (``5%,15%``), by rank on the
        validation rows; or *alert_p*: probability thresholds (red, amber).
    exclude
        Columns not to learn from.
    provenance
        The input's provenance (from ``segment churn features``): columns it
        marks as computed after the as-of month are refused as features.
    seed, rounds, learning_rate, num_leaves, min_leaf, threads
        LightGBM settings (early stopping picks the rounds, up to *rounds*).
    """
    lgb = lightgbm()
    report = progress or (lambda task, done, total: None)
    frame = table.collect() if isinstance(table, pl.LazyFrame) else table
    if frame.height == 0:
        raise DataError("the training table has no rows")
    if AS_OF in frame.columns and frame.schema[AS_OF] == pl.String:
        frame = frame.with_columns(pl.col(AS_OF).str.to_date(strict=False))
    for role, col in (("target", target), ("id", id)):
        if col not in frame.columns:
            raise ColumnNotFoundError(col, frame.columns, role=role)
    for c in exclude:
        if c not in frame.columns:
            raise ColumnNotFoundError(c, frame.columns, role="--exclude")
    nulls = frame[target].null_count()
    if nulls:
        warnings.warn(f"{nulls:,} rows have no {target!r} value (no label yet): left out", SegmentWarning,
                      stacklevel=2)
        frame = frame.filter(pl.col(target).is_not_null())
    check_unique(frame, id)
    y = target_values(frame[target], target)
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise DataError(f"target column {target!r} has one class only ({len(y):,} rows, {positives:,} churners); "
                        "a model needs churners and others")
    if positives < MIN_POSITIVES:
        raise DataError(f"target column {target!r} has {positives} churners; at least {MIN_POSITIVES} are needed "
                        "(stack more as-of months with --as-of FIRST..LAST, or widen --horizon)")
    after = _after_as_of(provenance)
    candidates = [c for c in frame.columns if c not in (id, target, AS_OF, *exclude)]
    for c in candidates:
        if c in after:
            raise DataError(f"column {c!r} was computed after the as-of month (the features step made it as a label); "
                            f"it cannot be a feature: drop it or pass --exclude {c}")
        if leaky_name(c):
            raise DataError(f"column {c!r} looks computed after the as-of month (its name says so); "
                            f"it cannot be a feature: drop it or pass --exclude {c}")
    if not provenance_is_features(provenance) and AS_OF not in frame.columns:
        warnings.warn("the input is a snapshot, not features as of a month: columns such as tenure or total "
                      "charges may be measured after the churn and leak the outcome", SegmentWarning, stacklevel=2)
    features = _describe_features(frame, candidates)
    if not features:
        raise DataError("no feature columns left to learn from")
    report("fitting", 0, None)
    x, _ = matrix(frame, features)
    train, cal, valid, split = _split(frame, y, valid_from, seed)
    params = lgb_params(seed=seed, learning_rate=learning_rate, num_leaves=num_leaves, min_leaf=min_leaf,
                        threads=threads)
    names = [f["model_name"] for f in features]
    cats = [i for i, f in enumerate(features) if f["kind"] == "category"]
    dtrain = lgb.Dataset(x[train], y[train], feature_name=names, categorical_feature=cats, free_raw_data=True,
                         params={"max_bin": 255, "verbosity": -1})
    dcal = lgb.Dataset(x[cal], y[cal], reference=dtrain)
    booster = lgb.train(params, dtrain, num_boost_round=rounds, valid_sets=[dcal],
                        callbacks=[lgb.early_stopping(50, verbose=False)])
    best = booster.best_iteration or rounds
    text = booster.model_to_string(num_iteration=best)
    report("fitting", 1, 1)
    calibration = platt_fit(booster.predict(x[cal], raw_score=True, num_iteration=best), y[cal])
    p_valid = calibrated(booster.predict(x[valid], raw_score=True, num_iteration=best), calibration)
    thresholds = _thresholds(p_valid, alert_top, alert_p)
    sample = np.flatnonzero(valid)[:DRIVER_SAMPLE]
    contrib = booster.predict(x[sample], pred_contrib=True, num_iteration=best)[:, :-1]
    drivers = (pl.DataFrame({"feature": [f["name"] for f in features],
                             "mean_abs_contrib": np.abs(contrib).mean(axis=0)})
               .sort(["mean_abs_contrib", "feature"], descending=[True, False]))
    valid_frame = pl.DataFrame({target: y[valid], "p_churn": p_valid})
    ev = evaluate(valid_frame, target=target, drivers=drivers)
    label = {k: provenance_details(provenance).get(k) for k in ("horizon", "gap")} if provenance else {}
    spec = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "made_by": f"segment {segment.__version__}",
        "id": id, "target": target, "features": features,
        "training": {"rows": int(len(y)), "churners": positives, "split": split,
                     "as_of": _as_of_span(frame), "label": label or None,
                     "snapshot": AS_OF not in frame.columns},
        "calibration": calibration, "thresholds": thresholds,
        "params": {**params, "num_boost_round": int(best), "early_stopping_rounds": 50},
    }
    metrics = {"validation": split, **ev.as_dict()}
    return ChurnModel(model_text=text, spec=spec, metrics=metrics, evaluation=ev, _booster=None)


def _thresholds(p: np.ndarray, alert_top: str | None, alert_p: tuple[float, float] | None) -> dict[str, Any]:
    if alert_p is not None:
        red, amber = alert_p
        if not 0 < amber < red < 1:
            raise OptionError(f"--alert-p must be two probabilities, red above amber, e.g. 0.5,0.2; got {red},{amber}")
        return {"by": "probability", "red": float(red), "amber": float(amber)}
    top = parse_alert_top(alert_top or DEFAULT_ALERT_TOP)
    ranked = np.sort(p)[::-1]
    cut = [float(ranked[max(int(np.ceil(s * len(ranked))) - 1, 0)]) for s in top]
    return {"by": "capacity", "top": list(top), "red": cut[0], "amber": cut[1]}


def provenance_details(provenance: dict[str, Any] | None) -> dict[str, Any]:
    if not provenance:
        return {}
    details = provenance.get("details")
    return details if isinstance(details, dict) else {}


def provenance_is_features(provenance: dict[str, Any] | None) -> bool:
    return bool(provenance) and str(provenance.get("command", "")).startswith("churn features")  # type: ignore[union-attr]


def _after_as_of(provenance: dict[str, Any] | None) -> set[str]:
    """Columns an upstream ``churn features`` step (or anything upstream of it) marks as computed after as-of."""
    out: set[str] = set()
    stack = [provenance] if provenance else []
    while stack:
        record = stack.pop()
        out |= set(provenance_details(record).get("after_as_of") or [])
        for entry in record.get("inputs") or []:
            if isinstance(entry, dict) and isinstance(entry.get("provenance"), dict):
                stack.append(entry["provenance"])
    return out


def _as_of_span(frame: pl.DataFrame) -> list[str] | None:
    if AS_OF not in frame.columns:
        return None
    months = frame[AS_OF].drop_nulls()
    return [f"{months.min():%Y-%m}", f"{months.max():%Y-%m}"]
