"""``segment clv``: customer lifetime value from BTYD models (fit, score)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any

import polars as pl
import typer

from segment.errors import DataError, InputError, OptionError

from . import options as opt
from .errors import command_group
from .lifecycle import _with_panel_options
from .reading import ReadingCommand
from .render import frame_table
from .run import Run

NAME = "clv"
EXAMPLE = "segment clv fit rfm.parquet --model bgnbd --spend gamma-gamma --score -o clv.parquet --params-out params.json"
HELP = ("Customer lifetime value: fit BG/NBD + Gamma-Gamma on segment rfm --btyd output (purchases whenever), "
        "or sBG / BdW on duration and churn (renewals), by maximum likelihood; score p_alive, expected "
        "purchases, DERL and clv per customer.")
MODEL_PANEL = "Model"
VALUE_PANEL = "Value"

app = command_group(NAME, HELP)


class Model(str, Enum):
    bgnbd = "bgnbd"
    pareto_nbd = "pareto-nbd"
    sbg = "sbg"
    bdw = "bdw"


class Spend(str, Enum):
    gamma_gamma = "gamma-gamma"


class TimeUnit(str, Enum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


def _col(help: str) -> Any:
    return typer.Option(help=help, rich_help_panel=opt.COLUMNS_PANEL)


def _value(help: str, **kw: Any) -> Any:
    return typer.Option(help=help, rich_help_panel=VALUE_PANEL, **kw)


Duration = Annotated[str, _col("sbg/bdw: whole periods completed (a customer who churned at the first renewal "
                               "has 1).")]
Event = Annotated[str, _col("sbg/bdw: 1/yes = churned at the end of the period, 0/no = still active.")]
Frequency = Annotated[str, _col("bgnbd: repeat purchase days (rfm --btyd frequency_btyd).")]
Recency = Annotated[str, _col("bgnbd: days from the first to the last purchase.")]
Age = Annotated[str, _col("bgnbd: days from the first purchase to the end of the data (lifetimes' T).")]
Monetary = Annotated[str, _col("bgnbd --spend: mean spend per repeat purchase.")]
Horizon = Annotated[int | None, _value("bgnbd: periods of --time-unit ahead for expected purchases and clv "
                                       "[default: one year]", show_default=False)]
Margin = Annotated[float, _value("bgnbd: share of spend kept as margin; sbg/bdw: margin per period "
                                 "(money), clv = margin x DERL.")]
Discount = Annotated[float, _value("Discount rate per period of --time-unit.")]


@app.command("fit", cls=ReadingCommand)
@_with_panel_options
def fit_command(
    input: opt.Input = "-",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="PARAMS.json (or, with --score, the scored table). Default: stdout.",
        rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    to: opt.To = None, from_: opt.From = None,
    model: Annotated[Model, typer.Option(help="bgnbd or pareto-nbd (rfm --btyd input); sbg or bdw (duration and event, or a "
                                              "monthly panel).",
                                         rich_help_panel=MODEL_PANEL)] = Model.bgnbd,
    spend: Annotated[Spend | None, typer.Option(help="Also fit spend per repeat purchase (bgnbd).",
                                                rich_help_panel=MODEL_PANEL, show_default=False)] = None,
    time_unit: Annotated[TimeUnit | None, typer.Option(
        help="Period of the model: rfm --btyd days become this unit (day, week, month, year) "
             "[default: week; month for sbg/bdw].",
        rich_help_panel=MODEL_PANEL, show_default=False)] = None,
    frequency: Frequency = "frequency_btyd", recency: Recency = "recency_btyd", age: Age = "T",
    monetary: Monetary = "monetary_value", duration: Duration = "duration", event: Event = "event",
    cohort: Annotated[str | None, typer.Option(help="sbg/bdw: fit each acquisition cohort (this column) apart; "
                                                    "'cohort' from a panel is the first month.",
                                               rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    entry: Annotated[str | None, typer.Option(help="sbg/bdw: periods lived before the data saw the customer "
                                                   "(left truncation).", rich_help_panel=opt.COLUMNS_PANEL,
                                              show_default=False)] = None,
    panel: dict[str, Any] = None,  # type: ignore[assignment]
    score: Annotated[bool, typer.Option("--score", help="Also score the customers: -o is then the table.")] = False,
    params_out: Annotated[str | None, typer.Option(help="With --score: write PARAMS.json here.",
                                                   rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    backtest: Annotated[str | None, typer.Option(
        help="bgnbd: write predicted against actual holdout purchases per group to FILE (input from rfm --btyd "
             "--frequency days --as-of CAL --holdout-end END).", rich_help_panel=opt.IO_PANEL,
        show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help="--backtest groups: this column [default: calibration repeat "
                                                "purchases 0-7+].", rich_help_panel=opt.COLUMNS_PANEL,
                                           show_default=False)] = None,
    curves: Annotated[str | None, typer.Option(
        help="sbg/bdw: write actual (Kaplan-Meier) and fitted survival per cohort and period to FILE.",
        rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    horizon: Horizon = None, margin: Margin = 0.3, discount_rate: Discount = 0.01,
    verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Fit a CLV model by maximum likelihood: PARAMS.json (parameters, standard errors, log-likelihood).

    sbg/bdw also take a monthly usage panel (usage columns such as --voice): each line's months lived
    and churn come from the lifecycle rules (see segment lifecycle)."""
    from segment.clv import backtest as holdout_table
    from segment.clv import clv, survival_curves

    with Run(f"{NAME} fit") as run:
        if params_out and not score:
            raise OptionError("--params-out goes with --score (without it, -o is PARAMS.json)")
        id = panel["id"]
        usage = any(panel[k] for k in ("voice", "data", "revenue", "metrics"))
        table = run.read(input, fmt=from_, string_columns=[c for c in (id, panel["identity"]) if c])
        if score:
            run.check_outputs(output, curves, backtest, to=to, documents=(params_out,))
        else:
            run.check_outputs(None, curves, backtest, to=to, documents=(output,))
        result = clv(table.frame, model=model.value, spend=spend.value if spend else None,
                     time_unit=time_unit.value if time_unit else None, duration=duration, event=event,
                     cohort=cohort, score_customers=score, horizon=horizon, margin=margin,
                     discount_rate=discount_rate, id=id, frequency=frequency, recency=recency, age=age,
                     monetary=monetary, panel=panel if usage else None, entry=entry)
        params = result.model.to_dict()
        if curves:
            lines = result.lifetimes if result.lifetimes is not None else table.frame
            columns = ("duration", "event") if result.lifetimes is not None else (duration, event)
            run.write_side(survival_curves(lines, result.model, duration=columns[0], event=columns[1]), curves,
                           role="curves", details={"params": params})
        if backtest:
            run.write_side(holdout_table(table.frame, result.model, by=by, frequency=frequency, recency=recency,
                                         age=age), backtest, role="backtest", details={"params": params})
        if score:
            if params_out:
                run.write_json(params, params_out, role="params-out", rows=result.model.fit.n)
            run.write(result.table, output, to, details={"params": params})
        else:
            _write_params(run, params, output)
        run.summary(params_table(params), *([value_summary(result.table)] if score else []))


@app.command("score", cls=ReadingCommand)
def score_command(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    id: opt.Id = "customer_id",
    params: Annotated[str, typer.Option(help="PARAMS.json written by segment clv fit.",
                                        rich_help_panel=opt.IO_PANEL)] = ...,  # type: ignore[assignment]
    frequency: Frequency = "frequency_btyd", recency: Recency = "recency_btyd", age: Age = "T",
    monetary: Monetary = "monetary_value", duration: Duration = "duration", event: Event = "event",
    horizon: Horizon = None, margin: Margin = 0.3, discount_rate: Discount = 0.01,
    verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Score customers with a fitted model: p_alive, expected purchases, expected spend, DERL, clv."""
    from segment.clv import CLVModel, score

    with Run(f"{NAME} score") as run:
        fitted = CLVModel.from_dict(_read_params(params))
        table = run.read(input, fmt=from_, string_columns=[id])
        run.check_outputs(output, to=to)
        out = score(table.frame, fitted, horizon=horizon, margin=margin, discount_rate=discount_rate,
                    duration=duration, event=event, id=id, frequency=frequency, recency=recency, age=age,
                    monetary=monetary)
        run.write(out, output, to, details={"params": fitted.to_dict()})
        run.summary(value_summary(out))


def _read_params(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"--params file {path!r} not found; write it with segment clv fit -o {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"--params file {path!r} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"--params file {path!r} is not a PARAMS.json object")
    return data


def _write_params(run: Run, params: dict[str, Any], output: str | None) -> None:
    from segment.io import is_stdio

    if output is None or is_stdio(output):
        sys.stdout.write(json.dumps({"provenance": run.provenance(params["n"]), **params}, indent=2,
                                    sort_keys=True, allow_nan=False, default=str) + "\n")
        return
    run.write_json(params, output, role="output", rows=params["n"])


def params_table(params: dict[str, Any]):
    rows = [{"model": params["model"], "parameter": k, "estimate": v, "se": params["se"][k]}
            for k, v in params["params"].items()]
    if params.get("spend"):
        rows += [{"model": params["spend"]["model"], "parameter": k, "estimate": v,
                  "se": params["spend"]["se"][k]} for k, v in params["spend"]["params"].items()]
    for name, fit in (params.get("cohorts") or {}).items():
        rows += [{"model": f"{params['model']} {params['cohort']}={name}", "parameter": k, "estimate": v,
                  "se": fit["se"][k]} for k, v in fit["params"].items()]
    return frame_table(pl.DataFrame(rows), title="Maximum-likelihood estimates", digits=4,
                       caption=f"{params['n']:,} customers, log-likelihood {params['loglik']:,.2f}, "
                               f"AIC {params['aic']:,.2f}, time unit {params['time_unit']}")


def value_summary(table: pl.DataFrame | None):
    cols = [c for c in ("p_alive", "expected_purchases", "expected_spend", "retention_next", "derl", "clv")
            if table is not None and c in table.columns]
    assert table is not None
    stats = table.select(
        pl.lit("mean").alias("statistic"), *[pl.col(c).mean() for c in cols]).vstack(
        table.select(pl.lit("median").alias("statistic"), *[pl.col(c).median() for c in cols])).vstack(
        table.select(pl.lit("total").alias("statistic"), *[pl.col(c).sum() for c in cols]))
    return frame_table(stats, title=f"Per-customer value ({table.height:,} customers)", digits=3)
