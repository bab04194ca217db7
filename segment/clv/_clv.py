"""Fit and score customer-lifetime-value models; the PARAMS.json layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from segment.columns import require_columns, require_durations
from segment.errors import DataError, OptionError

from . import _bgnbd, _gammagamma, _paretonbd, _sbg
from ._discount import discounted
from ._inputs import DAYS, MIN_CUSTOMERS, btyd_arrays, duration_event
from ._mle import Fit, maximize

MODELS = ("bgnbd", "pareto-nbd", "sbg", "bdw")
CONTRACTUAL = ("sbg", "bdw")
SPEND_MODELS = ("gamma-gamma",)
TIME_UNITS = ("day", "week", "month", "year")
# One year ahead by default, in the model's time unit.
HORIZON = {"day": 365, "week": 52, "month": 12, "year": 1}
# Distinct rows above which a BG/NBD or Gamma-Gamma fit starts from a fit on a systematic subset of them.
WARM_START_ROWS = 5_000
NAMES = {"bgnbd": _bgnbd.NAMES, "pareto-nbd": _paretonbd.NAMES, "sbg": _sbg.SBG, "bdw": _sbg.BDW}
PURCHASES = {"bgnbd": _bgnbd, "pareto-nbd": _paretonbd}
LABEL = {"bgnbd": "BG/NBD", "pareto-nbd": "Pareto/NBD", "sbg": "sBG", "bdw": "BdW", "gamma-gamma": "Gamma-Gamma"}


@dataclass(frozen=True)
class CLVModel:
    """A fitted model: what PARAMS.json holds (``to_dict`` / ``from_dict``)."""

    model: str
    time_unit: str
    fit: Fit
    spend: tuple[str, Fit] | None = None
    cohort: str | None = None
    cohorts: dict[str, Fit] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fixed PARAMS.json layout (``cohort``/``cohorts`` only after a per-cohort fit)."""
        out: dict[str, Any] = {"model": self.model, "time_unit": self.time_unit,
                               "params": self.fit.params, "se": self.fit.se}
        if self.spend:
            name, fit = self.spend
            out["spend"] = {"model": name, "params": fit.params, "se": fit.se, "loglik": fit.loglik,
                            "aic": fit.aic, "n": fit.n, "converged": True}
        out.update(loglik=self.fit.loglik, aic=self.fit.aic, n=self.fit.n, converged=True)
        if self.cohort:
            out["cohort"] = self.cohort
            out["cohorts"] = {k: {"params": f.params, "se": f.se, "loglik": f.loglik, "aic": f.aic, "n": f.n,
                                  "converged": True} for k, f in self.cohorts.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CLVModel:
        """Read a PARAMS.json document back, checking its layout.

        Examples
        --------
        >>> CLVModel.from_dict({"model": "sbg"})
        Traceback (most recent call last):
        ...
        segment.errors.DataError: the params file has no 'time_unit': write it with segment clv fit
        """
        def need(d: dict[str, Any], key: str) -> Any:
            if not isinstance(d, dict) or key not in d:
                raise DataError(f"the params file has no {key!r}: write it with segment clv fit")
            return d[key]

        model = need(data, "model")
        if model not in NAMES:
            raise DataError(f"the params file names model {model!r}; expected one of {', '.join(NAMES)}")
        unit = need(data, "time_unit")

        def fit(d: dict[str, Any], names: tuple[str, ...]) -> Fit:
            params, se = need(d, "params"), need(d, "se")
            missing = [k for k in names if k not in params]
            if missing:
                raise DataError(f"the params file's {model} parameters lack {', '.join(missing)}")
            return Fit({k: float(params[k]) for k in names}, {k: float(se.get(k, np.nan)) for k in names},
                       float(d.get("loglik", np.nan)), int(d.get("n", 0)))

        if need(data, "converged") is not True:
            raise DataError("the params file records a fit that did not converge; fit again")
        spend = None
        if data.get("spend"):
            spend = (need(data["spend"], "model"), fit(data["spend"], _gammagamma.NAMES))
        cohorts = {str(k): fit(v, NAMES[model]) for k, v in (data.get("cohorts") or {}).items()}
        return cls(model, unit, fit(data, NAMES[model]), spend, data.get("cohort"), cohorts)


@dataclass
class CLVResult:
    """A fitted model and, when scored, one row per customer."""

    model: CLVModel
    table: pl.DataFrame | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    #: With a panel: the per-line durations the model was fitted on.
    lifetimes: pl.DataFrame | None = None


def fit(frame: pl.LazyFrame | pl.DataFrame, *, model: str = "bgnbd", spend: str | None = None,
        time_unit: str | None = None, duration: str = "duration", event: str = "event",
        cohort: str | None = None, id: str | None = None, frequency: str = "frequency_btyd",
        recency: str = "recency_btyd", age: str = "T", monetary: str = "monetary_value",
        panel: dict[str, Any] | None = None, entry: str | None = None) -> CLVModel:
    """Fit a CLV model by maximum likelihood.

    Parameters
    ----------
    frame
        ``bgnbd``: the output of ``segment rfm --btyd`` (``frequency_btyd``,
        ``recency_btyd``, ``T`` in days, and ``monetary_value`` for the
        spend model). ``sbg``/``bdw``: one row per customer with *duration*
        (whole periods completed) and *event* (1/yes churned, 0/no active).
    model
        ``bgnbd``, ``sbg`` or ``bdw``.
    spend
        ``gamma-gamma`` to fit the spend per repeat purchase as well (bgnbd).
    time_unit
        ``day``, ``week`` (default for bgnbd), ``month`` (default for sbg/bdw,
        where it only labels the periods) or ``year``.
    cohort
        sbg/bdw: fit each value of this column apart (acquisition cohorts),
        besides the pooled fit.
    id
        Customer key column, checked to exist when given.
    panel
        sbg/bdw: *frame* is a monthly usage panel, and this holds
        :func:`segment.lifecycle.durations`' keywords (``id``, ``voice`` ...):
        each line's months lived and churn come from the lifecycle rules,
        lines activated before the panel are left-truncated, and the
        ``cohort`` column (first month) is there for *cohort*.
    entry
        sbg/bdw: column of the periods a customer had already lived when the
        data began to see them (left truncation; 0 = seen from the start).
    frequency, recency, age, monetary
        bgnbd: the ``rfm --btyd`` columns (repeat purchase days, days from
        the first to the last purchase, days from the first purchase to the
        end, mean spend per repeat purchase).

    Examples
    --------
    >>> import polars as pl
    >>> survivors = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), "regular"
    >>> d = [t for t in range(1, 8) for _ in range(survivors[t - 1] - survivors[t])] + [7] * 241
    >>> e = [1] * (1000 - 241) + [0] * 241
    >>> m = fit(pl.DataFrame({"duration": d, "event": e}), model="sbg")
    >>> {k: round(v, 3) for k, v in m.fit.params.items()}
    {'alpha': 0.704, 'beta': 1.182}
    """
    lf = frame.lazy()
    if id is not None:
        require_columns(lf, {"id": id})
    if model not in MODELS:
        raise OptionError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if spend is not None and spend not in SPEND_MODELS:
        raise OptionError(f"--spend must be gamma-gamma, got {spend!r}")
    if model in CONTRACTUAL:
        if spend:
            raise OptionError(f"--spend models spend per purchase; --model {model} values a period's margin "
                              "(use --margin)")
        unit = time_unit or "month"
        if unit not in TIME_UNITS:
            raise OptionError(f"--time-unit must be one of {', '.join(TIME_UNITS)}, got {unit!r}")
        if panel is not None:
            lf, duration, event, entry = from_panel(lf, panel), "duration", "event", "entry"
        return _fit_contractual(lf, model, unit, duration, event, cohort, entry)
    if cohort:
        raise OptionError("--cohort applies to --model sbg or bdw")
    unit = time_unit or "week"
    data = btyd_arrays(lf, time_unit=unit, spend=bool(spend), frequency=frequency, recency=recency, age=age,
                       monetary=monetary)
    purchases = _fit_bgnbd(data) if model == "bgnbd" else _fit_pareto(data)
    return CLVModel(model, unit, purchases, _fit_spend(data) if spend else None)


def _unique(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct rows of *columns* (sorted), how many customers share each, and each customer's row.

    The likelihood and the predictions depend on these columns only, so
    they are computed once per distinct row. Sorted, so that the same
    customers in any order give the same sums, bit for bit.
    """
    names = [f"c{i}" for i in range(len(columns))]
    frame = pl.DataFrame(dict(zip(names, columns)))
    groups = (frame.with_row_index("_row").group_by(names).agg(pl.len().alias("_n"), pl.col("_row"))
              .sort(names).with_row_index("_u"))
    inverse = np.empty(frame.height, dtype=np.int64)
    pairs = groups.select("_u", "_row").explode("_row")
    inverse[pairs["_row"].to_numpy()] = pairs["_u"].to_numpy()
    return [groups[c].to_numpy() for c in names], groups["_n"].to_numpy().astype(float), inverse


def _fit_bgnbd(data: dict[str, np.ndarray]) -> Fit:
    (x, tx, T), w, _ = _unique(data["x"], data["tx"], data["T"])
    return _fit_grouped(_bgnbd, [x, tx, T], w, _bgnbd.start(x, tx, T, w), "BG/NBD")


def _fit_grouped(kind: Any, columns: list[np.ndarray], w: np.ndarray, start: np.ndarray, what: str) -> Fit:
    """Fit a model with an analytic gradient (``kind``: its module) on distinct rows with weights.

    A large fit starts where every k-th distinct row puts it, with that fit's
    curvature: Newton steps then settle it in a few evaluations on the whole data.
    """
    n = int(w.sum())
    hess_inv = None
    if len(w) > WARM_START_ROWS:
        k = len(w) // WARM_START_ROWS + 1
        n_few = int(w[::k].sum())
        few = _maximize(kind, kind.Prepared(*[c[::k] for c in columns], w[::k]), start, n_few,
                        f"{what} (warm start)")
        start = np.array([few.params[name] for name in kind.NAMES])
        hess_inv = few.cov_log * n_few if few.cov_log is not None else None
    return _maximize(kind, kind.Prepared(*columns, w), start, n, what, hess_inv)


def _maximize(kind: Any, prepared: Any, start: np.ndarray, n: int, what: str,
              hess_inv: np.ndarray | None = None) -> Fit:
    return maximize(lambda p: kind.loglik(p, prepared), kind.NAMES, start, n=n, what=what, scale=n,
                    gradient=lambda p: kind.gradient(p, prepared), hess_inv=hess_inv)


def _fit_pareto(data: dict[str, np.ndarray]) -> Fit:
    (x, tx, T), w, _ = _unique(data["x"], data["tx"], data["T"])
    n = int(w.sum())
    return maximize(lambda p: _paretonbd.loglik(p, x, tx, T, w), _paretonbd.NAMES, _paretonbd.start(x, tx, T, w),
                    n=n, what="Pareto/NBD", scale=n)


def _fit_spend(data: dict[str, np.ndarray]) -> tuple[str, Fit]:
    keep = (data["x"] > 0) & (data["m"] > 0)
    if keep.sum() < MIN_CUSTOMERS:
        raise DataError(f"{int(keep.sum())} repeat buyers with a positive monetary_value: the Gamma-Gamma "
                        f"fit needs at least {MIN_CUSTOMERS}")
    (x, m), w, _ = _unique(data["x"][keep], data["m"][keep])
    return "gamma-gamma", _fit_grouped(_gammagamma, [x, m], w, _gammagamma.start(m, w), "Gamma-Gamma")


def from_panel(frame: pl.LazyFrame | pl.DataFrame, panel: dict[str, Any]) -> pl.LazyFrame:
    """One row per line of a monthly panel: ``cohort`` (first month, as text), ``duration``,
    ``event``, ``entry``, by the lifecycle rules (:func:`segment.lifecycle.durations`)."""
    from segment.lifecycle import durations

    return durations(frame, **panel).with_columns(pl.col("cohort").cast(pl.String)).lazy()


def _fit_contractual(lf: pl.LazyFrame, model: str, unit: str, duration: str, event: str,
                     cohort: str | None, entry_column: str | None = None) -> CLVModel:
    d, e = duration_event(lf, duration=duration, event=event)
    entry = np.zeros(len(d))
    if entry_column:
        entry = require_durations(lf, entry_column, option="--entry").select(entry_column).collect() \
            .to_series().to_numpy().astype(float)
        bad = np.flatnonzero(entry > d)
        if len(bad):
            raise DataError(f"row {bad[0] + 1}: --entry {entry_column!r} ({entry[bad[0]]:g}) exceeds the duration "
                            f"({d[bad[0]]:g}); a customer cannot have lived longer before the data than in all")
    groups = None
    if cohort:
        require_columns(lf, {"cohort": cohort})
        groups = lf.select(pl.col(cohort).cast(pl.String).fill_null("(missing)")).collect().to_series().to_numpy()
    pooled = _fit_survival(model, d, e, "all customers", entry)
    cohorts = {}
    if groups is not None:
        for g in sorted(set(groups)):
            mask = groups == g
            cohorts[g] = _fit_survival(model, d[mask], e[mask], f"cohort {g!r}", entry[mask])
    return CLVModel(model, unit, pooled, None, cohort, cohorts)


def _fit_survival(model: str, d: np.ndarray, e: np.ndarray, who: str, entry: np.ndarray) -> Fit:
    if len(d) < MIN_CUSTOMERS:
        raise DataError(f"{who}: {len(d)} customers; a fit needs at least {MIN_CUSTOMERS}")
    if not e.any():
        raise DataError(f"{who}: no churn (every --event is 0), so the {LABEL[model]} model cannot be fitted; "
                        "fit it once churn has been seen, or leave that cohort out")
    if e.all():
        raise DataError(f"{who}: every customer churned (no --event 0), so the {LABEL[model]} model cannot be "
                        "fitted; include the customers still active")
    (dd, ee, en), w, _ = _unique(d, e.astype(float), entry)
    names = NAMES[model]
    start = np.array([1.0, 1.0, 1.0][: len(names)])
    truncated = en if en.any() else None
    return maximize(lambda p: _sbg.loglik(p, dd, ee.astype(bool), w, truncated), names, start, n=len(d),
                    what=f"{LABEL[model]} ({who})", scale=len(d))


def score(frame: pl.LazyFrame | pl.DataFrame, model: CLVModel, *, horizon: int | None = None,
          margin: float = 0.3, discount_rate: float = 0.01, duration: str = "duration",
          event: str = "event", id: str | None = None, frequency: str = "frequency_btyd",
          recency: str = "recency_btyd", age: str = "T", monetary: str = "monetary_value") -> pl.DataFrame:
    """Per customer: the input's columns and the model's predictions.

    bgnbd: ``p_alive``, ``expected_purchases`` in the next *horizon* periods
    (default one year), and with a spend model ``expected_spend`` (per
    purchase) and ``clv`` = margin x expected spend x the expected purchases
    in the horizon, discounted continuously at ``(1 + discount_rate)`` per period.
    sbg/bdw: ``retention_next``, ``derl`` and ``clv`` = margin x DERL, where
    *margin* is the money a period brings (0 for customers who churned).
    """
    if discount_rate < 0:
        raise OptionError(f"--discount-rate must be >= 0, got {discount_rate}")
    if horizon is not None and horizon < 1:
        raise OptionError(f"--horizon must be at least 1 period, got {horizon}")
    df = frame.lazy().collect()
    if id is not None:
        require_columns(df, {"id": id})
    if model.model in CONTRACTUAL:
        if horizon is not None:
            raise OptionError("--horizon applies to bgnbd: DERL values the whole residual lifetime")
        if discount_rate <= 0:
            raise OptionError("--discount-rate must be above 0 for sbg/bdw: without discounting the "
                              "expected residual lifetime can be infinite")
        return _score_contractual(df, model, margin, discount_rate, duration, event)
    columns = dict(frequency=frequency, recency=recency, age=age, monetary=monetary)
    # Scoring has no minimum: a fitted model scores any number of customers.
    data = btyd_arrays(df.lazy(), time_unit=model.time_unit, spend=model.spend is not None, minimum=0, **columns)
    return df.with_columns(**_score_bgnbd(model, data, horizon or HORIZON[model.time_unit], margin,
                                          discount_rate))


def _score_bgnbd(model: CLVModel, data: dict[str, np.ndarray], horizon: int, margin: float,
                 discount_rate: float) -> dict[str, pl.Series]:
    params = model.fit.params
    (x, tx, T), _, index = _unique(data["x"], data["tx"], data["T"])
    kind = PURCHASES[model.model]
    alive = kind.p_alive(params, x, tx, T)
    out = {"p_alive": pl.Series(alive[index])}
    # Purchases of a customer alive now depend on x and T only: far fewer pairs than histories.
    (xs, Ts), _, pair = _unique(x, T)
    expected, discounted_count = discounted(lambda t: kind.if_alive(params, t, xs, Ts)[pair], alive,
                                            float(horizon), discount_rate)
    out["expected_purchases"] = pl.Series(expected[index])
    if model.spend:
        spend = _gammagamma.expected_spend(model.spend[1].params, data["x"], data["m"])
        out["expected_spend"] = pl.Series(spend)
        out["clv"] = pl.Series(margin * spend * discounted_count[index])
    return out


def _score_contractual(df: pl.DataFrame, model: CLVModel, margin: float, discount_rate: float,
                       duration: str, event: str) -> pl.DataFrame:
    d, e = duration_event(df.lazy(), duration=duration, event=event)
    if model.cohort:
        require_columns(df, {"cohort": model.cohort})
        groups = df[model.cohort].cast(pl.String).fill_null("(missing)").to_numpy()
        unknown = sorted(set(groups) - set(model.cohorts))
        if unknown:
            raise DataError(f"cohort {unknown[0]!r} of column {model.cohort!r} was not in the fit "
                            f"(fitted: {', '.join(model.cohorts)})")
    else:
        groups = np.full(len(d), "")
    keep, derl = np.zeros(len(d)), np.zeros(len(d))
    for g in sorted(set(groups)):
        mask = groups == g
        p = model.cohorts[g].params if model.cohort else model.fit.params
        keep[mask] = _sbg.retention(p, d[mask])
        derl[mask] = _sbg.derl(p, d[mask], discount_rate)
    active = ~e
    return df.with_columns(retention_next=pl.Series(np.where(active, keep, 0.0)),
                           derl=pl.Series(np.where(active, derl, 0.0)),
                           clv=pl.Series(np.where(active, margin * derl, 0.0)))


def survival_curves(frame: pl.LazyFrame | pl.DataFrame, model: CLVModel, *, duration: str = "duration",
                    event: str = "event") -> pl.DataFrame:
    """Per cohort (``all`` for the pooled fit) and period: the actual survival against the fitted one.

    ``actual`` is the Kaplan-Meier estimate from the customers' durations
    (censored customers leave the risk set after their last period);
    ``fitted`` is the model's ``S(t)``.

    Examples
    --------
    >>> import polars as pl
    >>> survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> d = [t for t in range(1, 8) for _ in range(survivors[t - 1] - survivors[t])] + [7] * 241
    >>> frame = pl.DataFrame({"duration": d, "event": [1] * 759 + [0] * 241})
    >>> curves = survival_curves(frame, fit(frame, model="sbg"))
    >>> curves.filter(pl.col("period") == 7).select("at_risk", "churned", pl.col("actual").round(9)).row(0)
    (262, 21, 0.241)
    """
    if model.model not in CONTRACTUAL:
        raise OptionError("survival curves are for --model sbg or bdw")
    lf = frame.lazy()
    d, e = duration_event(lf, duration=duration, event=event)
    groups = {"all": (np.ones(len(d), dtype=bool), model.fit)}
    if model.cohort:
        require_columns(lf, {"cohort": model.cohort})
        labels = lf.select(pl.col(model.cohort).cast(pl.String).fill_null("(missing)")).collect().to_series().to_numpy()
        groups.update({k: (labels == k, f) for k, f in model.cohorts.items()})
    parts = []
    for name, (mask, fitted) in groups.items():
        dd, ee = d[mask], e[mask]
        periods = np.arange(0, int(dd.max()) + 1 if len(dd) else 1)
        at_risk = np.array([(dd >= t).sum() for t in periods])
        churned = np.array([((dd == t) & ee).sum() for t in periods])
        with np.errstate(divide="ignore", invalid="ignore"):
            actual = np.cumprod(np.where(at_risk > 0, 1 - churned / np.maximum(at_risk, 1), 1.0))
        p = fitted.params
        model_s = np.exp(_sbg.log_survival(p["alpha"], p["beta"], p.get("c", 1.0), periods.astype(float)))
        parts.append(pl.DataFrame({"cohort": name, "period": periods, "at_risk": at_risk, "churned": churned,
                                   "actual": actual, "fitted": model_s}))
    return pl.concat(parts)


def backtest(frame: pl.LazyFrame | pl.DataFrame, model: CLVModel, *, by: str | None = None,
             holdout: str = "frequency_holdout", holdout_days: str = "duration_holdout", top: int = 7,
             frequency: str = "frequency_btyd", recency: str = "recency_btyd", age: str = "T") -> pl.DataFrame:
    """Predicted against actual repeat purchases in a holdout period, per customer group.

    The input is ``segment rfm --btyd --frequency days --as-of CAL --holdout-end END``
    output: *holdout* counts each customer's purchase days after ``CAL``,
    *holdout_days* the days of the holdout window. Groups are the values of
    *by*, or else the calibration repeat purchases 0, 1, ..., *top* and
    ``{top}+`` (Fader, Hardie & Lee's 2005 check of the BG/NBD on CDNOW).
    """
    if model.model in CONTRACTUAL:
        raise OptionError("--backtest compares purchases; for sbg/bdw read --curves")
    lf = frame.lazy()
    require_columns(lf, {"holdout": holdout, "holdout days": holdout_days, **({"by": by} if by else {})})
    data = btyd_arrays(lf, time_unit=model.time_unit, spend=False, frequency=frequency, recency=recency, age=age,
                       minimum=0)
    extra = lf.select(pl.col(holdout).cast(pl.Float64), pl.col(holdout_days).cast(pl.Float64),
                      *([pl.col(by).cast(pl.String).fill_null("(missing)").alias("_by")] if by else [])).collect()
    span = extra[holdout_days].to_numpy() / DAYS[model.time_unit]
    predicted = np.zeros(len(span))
    for t in np.unique(span):
        rows = span == t
        predicted[rows] = PURCHASES[model.model].expected_purchases(model.fit.params, float(t), data["x"][rows], data["tx"][rows],
                                                    data["T"][rows])
    if by:
        group = extra["_by"]
    else:
        x = data["x"].astype(np.int64)
        group = pl.Series([str(v) if v < top else f"{top}+" for v in x])
    table = pl.DataFrame({"group": group, "actual": extra[holdout], "predicted": predicted})
    return (table.group_by("group").agg(customers=pl.len(), actual=pl.col("actual").mean(),
                                        predicted=pl.col("predicted").mean(),
                                        actual_total=pl.col("actual").sum(), predicted_total=pl.col("predicted").sum())
            .sort("group"))


def clv(frame: pl.LazyFrame | pl.DataFrame, *, model: str = "bgnbd", spend: str | None = None,
        time_unit: str | None = None, duration: str = "duration", event: str = "event",
        cohort: str | None = None, score_customers: bool = False, horizon: int | None = None,
        margin: float = 0.3, discount_rate: float = 0.01, id: str | None = None,
        frequency: str = "frequency_btyd", recency: str = "recency_btyd", age: str = "T",
        monetary: str = "monetary_value", panel: dict[str, Any] | None = None,
        entry: str | None = None) -> CLVResult:
    """Fit (:func:`fit`) and, with *score_customers*, score the same customers (:func:`score`).

    With *panel* (sbg/bdw), the customers are the lines of a monthly panel,
    one row each (:func:`from_panel`).
    """
    columns = dict(frequency=frequency, recency=recency, age=age, monetary=monetary)
    if panel is not None:
        if model not in CONTRACTUAL:
            raise OptionError("a monthly panel (usage columns such as --voice) is input for --model sbg or bdw")
        frame, duration, event, entry = from_panel(frame, panel).collect(), "duration", "event", "entry"
    fitted = fit(frame, model=model, spend=spend, time_unit=time_unit, duration=duration, event=event,
                 cohort=cohort, id=id, entry=entry, **columns)
    table = score(frame, fitted, horizon=horizon, margin=margin, discount_rate=discount_rate,
                  duration=duration, event=event, **columns) if score_customers else None
    return CLVResult(fitted, table, lifetimes=frame if panel is not None else None)
