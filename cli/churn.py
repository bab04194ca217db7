"""``segment churn``: early-warning features, a model, scores with reasons, and the call list."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import polars as pl
import typer

from . import campaign
from . import options as opt
from .errors import command_group
from .lifecycle import Activation, Data, DedupeOpt, Dedupe, Identity, Metric, Month, Revenue, Status, StatusValues, \
    Voice, parse_status_values
from .parsing import split_list
from .reading import ReadingCommand
from .render import frame_table
from .run import Run, given_options

NAME = "churn"
EXAMPLE = "segment churn features panel.parquet --as-of 2024-06 --voice voice_min -o train.parquet"
HELP = ("Churn early warning: features as of a month and the label after a gap (features), a LightGBM model "
        "(fit), scores with reasons and a call list (score), AUC and decile tables (evaluate).")
MODEL = "Model"
PRIORITY = "Retention priority"

app = command_group(NAME, HELP)


class Reasons(str, Enum):
    alerted = "alerted"
    all = "all"


class Contrib(str, Enum):
    auto = "auto"
    shap = "shap"
    path = "path"


class ValueKind(str, Enum):
    margin = "margin"
    clv = "clv"


Target = Annotated[str, typer.Option(help="The 0/1 churn column (also yes/no, true/false).",
                                     rich_help_panel=opt.COLUMNS_PANEL)]
IdOrModel = Annotated[str | None, typer.Option("--id", help="Customer key column [default: the model's].",
                                               rich_help_panel=opt.COLUMNS_PANEL, show_default=False)]


def _categories(value: list[str] | None) -> list[str]:
    return [c for item in (value or []) for c in (split_list(item) or [])]


@app.command("features", cls=ReadingCommand)
def features(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    as_of: Annotated[str, typer.Option(help="As-of month YYYY-MM, or FIRST..LAST to stack several (one row per "
                                            "customer and month, with an as_of column).", show_default=False)] = ...,
    horizon: Annotated[int, typer.Option(help="Label window: months in which a churn event counts.")] = 2,
    gap: Annotated[int, typer.Option(help="Months between as-of and the label window (time to act).")] = 1,
    id: opt.Id = "customer_id", month: Month = "month", voice: Voice = None, data: Data = None,
    revenue: Revenue = None, metric: Metric = None, status: Status = None, status_values: StatusValues = None,
    identity: Identity = None, activation: Activation = None,
    complaints: Annotated[str | None, typer.Option(help="Complaints or service-calls count column (3- and 6-month "
                                                        "sums).", rich_help_panel=opt.COLUMNS_PANEL,
                                                   show_default=False)] = None,
    category: Annotated[list[str] | None, typer.Option(help="Category column(s) taken from the customer's last row "
                                                           "up to as-of (plan, contract ...); repeat or "
                                                           "comma-separate.", rich_help_panel=opt.COLUMNS_PANEL,
                                                      show_default=False)] = None,
    date_format: opt.DateFormat = None, dedupe: DedupeOpt = Dedupe.error,
    seed: opt.Seed = 0, verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """One row per customer active at the as-of month: usage windows, trends, stage; the churn label after a gap."""
    from segment.churn import churn_features

    with Run(f"{NAME} features") as run:
        table = run.read(input, fmt=from_, string_columns=[c for c in (id, identity) if c])
        run.check_outputs(output, to=to)
        with run.progress() as report:
            result = churn_features(
                table.frame, as_of=as_of, horizon=horizon, gap=gap, id=id, month=month, voice=voice, data=data,
                revenue=revenue, metrics=_categories(metric), status=status,
                status_values=parse_status_values(status_values), identity=identity, activation=activation,
                complaints=complaints, categories=_categories(category), date_format=date_format,
                dedupe=dedupe.value, progress=report)
        run.write(result.table, output, to, details=result.provenance())
        run.summary(lambda: _features_summary(result))


@app.command("fit", cls=ReadingCommand)
def fit(
    input: opt.Input = "-",
    output: Annotated[str, typer.Option("--output", "-o", help="Model folder to write (text and JSON; replaced "
                                                               "if it holds an earlier model).",
                                        rich_help_panel=opt.IO_PANEL, show_default=False)] = ...,
    from_: opt.From = None, target: Target = "churn", id: opt.Id = "customer_id",
    valid_from: Annotated[str | None, typer.Option(help="Out-of-time validation: as-of months from this one on "
                                                        "are held out [default: the last as-of month].",
                                                   show_default=False)] = None,
    alert_top: Annotated[str, typer.Option(help="Shares alerted red, then red + amber, by rank on the validation "
                                                "rows (capacity).", rich_help_panel=MODEL)] = "5%,15%",
    alert_p: Annotated[str | None, typer.Option(help="Alert by probability instead: red,amber thresholds, "
                                                     "e.g. 0.5,0.2.", rich_help_panel=MODEL,
                                                show_default=False)] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Columns not to learn from; repeat or comma-separate.",
                                                      rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Most boosting rounds (early stopping on the calibration rows "
                                                    "picks fewer).", rich_help_panel=MODEL)] = 500,
    learning_rate: Annotated[float, typer.Option(help="LightGBM learning rate.", rich_help_panel=MODEL)] = 0.05,
    num_leaves: Annotated[int, typer.Option(min=2, help="LightGBM leaves per tree.", rich_help_panel=MODEL)] = 31,
    seed: opt.Seed = 0, verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Train a calibrated LightGBM churn model; write it as a folder of text and JSON (no pickle)."""
    from segment.churn import check_model_target, fit as fit_model, parse_alert_top

    with Run(f"{NAME} fit") as run:
        check_model_target(output)
        parse_alert_top(alert_top)
        shares = [float(v) for v in split_list(alert_p) or []] if alert_p else None
        table = run.read(input, fmt=from_, string_columns=[id])
        with run.progress() as report:
            model = fit_model(table.frame, target=target, id=id, valid_from=valid_from, alert_top=alert_top,
                              alert_p=tuple(shares) if shares else None, exclude=_categories(exclude),
                              provenance=table.provenance, seed=seed, rounds=rounds, learning_rate=learning_rate,
                              num_leaves=num_leaves, progress=report)
        model.save(output)
        run.summary(lambda: _fit_summary(model, output))


@app.command("score", cls=ReadingCommand)
def score(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    model: Annotated[str, typer.Option(help="Model folder from segment churn fit.", show_default=False)] = ...,
    id: IdOrModel = None,
    reasons: Annotated[Reasons, typer.Option(help="Reasons for the alerted customers (red, amber) or all.")]
    = Reasons.alerted,
    value: Annotated[str | None, typer.Option(help="Value column: monthly margin/ARPU, or CLV with --value-kind "
                                                   "clv; adds expected_loss and expected_net and sorts by it.",
                                              rich_help_panel=PRIORITY, show_default=False)] = None,
    value_kind: Annotated[ValueKind, typer.Option(help="margin: kept value = value x --horizon-months; clv: "
                                                       "the value as it is.", rich_help_panel=PRIORITY)]
    = ValueKind.margin,
    horizon_months: Annotated[int, typer.Option(help="Months of margin a save keeps (--value-kind margin).",
                                                rich_help_panel=PRIORITY)] = 12,
    offer_cost: Annotated[float | None, typer.Option(help="Cost of one retention offer.", rich_help_panel=PRIORITY,
                                                     show_default=False)] = None,
    save_rate: Annotated[float | None, typer.Option(help="Share of called churners the offer keeps (0-1).",
                                                    rich_help_panel=PRIORITY, show_default=False)] = None,
    capacity: Annotated[int | None, typer.Option(help="Calls the team can make: marks call and priority 1..N, "
                                                      "never a customer whose expected_net <= 0.",
                                                 rich_help_panel=PRIORITY, show_default=False)] = None,
    contrib: Annotated[Contrib, typer.Option(help="Reasons from TreeSHAP (shap), the cheaper path attribution "
                                                 "(path), or auto: shap up to 50,000 customers with reasons.")]
    = Contrib.auto,
    keep_features: Annotated[bool, typer.Option(help="Also write the model's features (for evaluate --previous: "
                                                     "PSI of each feature).")] = False,
    control: Annotated[str | None, typer.Option(help="Hold out this share (1%-50%) of the customers to call as a "
                                                     "control group, seeded and stratified by decile: adds group = "
                                                     "treat|control, for segment churn effect after the campaign.",
                                                rich_help_panel=PRIORITY, show_default=False)] = None,
    seed: opt.Seed = 0, verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Score customers: p_churn, risk decile, alert, reasons; with --value, whom to call first."""
    from segment.churn import load_model, score as score_customers
    from segment.stats.sampling import assign_control, parse_share

    # --control left out is left out of provenance too: scores without it keep their bytes.
    options = {k: v for k, v in given_options().items() if k != "control" or v is not None}
    with Run(f"{NAME} score", options) as run:
        share = parse_share(control) if control is not None else None
        fitted = load_model(model)
        table = run.read(input, fmt=from_, string_columns=[id or fitted.id])
        run.check_outputs(output, to=to)
        with run.progress() as report:
            result = score_customers(table.frame, fitted, id=id, reasons=reasons.value, value=value,
                                     value_kind=value_kind.value, horizon_months=horizon_months,
                                     offer_cost=offer_cost, save_rate=save_rate, capacity=capacity,
                                     keep_features=keep_features, contrib=contrib.value, progress=report)
        out = result.table
        if share is not None:
            out = assign_control(out, id=id or fitted.id, share=share, seed=seed)
        run.write(out, output, to, details={"model": fitted.spec["made_by"], **result.stats})
        run.summary(lambda: _score_summary(result))


@app.command("evaluate", cls=ReadingCommand)
def evaluate(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    target: Target = "churn", id: opt.Id = "customer_id",
    score: Annotated[str, typer.Option(help="Probability column.", rich_help_panel=opt.COLUMNS_PANEL)] = "p_churn",
    previous: Annotated[str | None, typer.Option(help="An earlier scoring: PSI of the score and of every shared "
                                                      "column, as a drift warning.", show_default=False)] = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Also write every figure and table as JSON.",
                                                  rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    min_auc: Annotated[float | None, typer.Option(help="Exit 1 when the AUC is below this.", show_default=False)]
    = None,
    seed: opt.Seed = 0, verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """AUC, KS, the decile table (written), calibration with Brier score, drivers; PSI against --previous."""
    from segment.churn import evaluate as evaluate_scores
    from segment.errors import CheckFailed

    with Run(f"{NAME} evaluate") as run:
        table = run.read(input, fmt=from_, string_columns=[id])
        old = run.read(previous, string_columns=[id]).frame.collect() if previous else None
        run.check_outputs(output, to=to, documents=(json_path,))
        result = evaluate_scores(table.frame.collect(), target=target, score=score, previous=old, skip=[id])
        run.write(result.deciles, output, to, details=result.summary)
        if json_path:
            run.write_json(result.as_dict(), json_path, role="json", rows=result.summary["rows"])
        run.summary(lambda: _evaluation_summary(result))
        if min_auc is not None and result.summary["auc"] < min_auc:
            raise CheckFailed(f"AUC {result.summary['auc']:.3f} is below --min-auc {min_auc}")


def _features_summary(result: Any) -> Any:
    rows = pl.DataFrame({"as_of": list(result.stats["rows"]), "customers": list(result.stats["rows"].values()),
                         "left out (silent/exited)": list(result.stats["left_out"].values()),
                         "churners": [result.stats["churners"].get(m) for m in result.stats["rows"]]})
    caption = (f"{len(result.feature_columns)} features; label: churn event in months as-of+{result.params['gap'] + 1}"
               f"..as-of+{result.params['gap'] + result.params['horizon']}" if result.labelled
               else f"{len(result.feature_columns)} features; no label (no months after as-of to see churn in)")
    return frame_table(rows, title="Churn features", caption=caption)


def _deciles_table(ev: Any, title: str) -> Any:
    s = ev.summary
    caption = (f"AUC {s['auc']:.3f}, KS {s['ks']:.3f}, Brier {s['brier']:.4f}; {s['rows']:,} customers, "
               f"{s['churners']:,} churners ({s['churn_rate']:.1%})")
    return frame_table(ev.deciles, title=title, digits=3, caption=caption)


def _fit_summary(model: Any, folder: str) -> Any:
    from rich.console import Group

    split = model.metrics["validation"]
    drivers = model.evaluation.drivers.head(8)
    return Group(_deciles_table(model.evaluation, f"Validation deciles ({split['kind']})"),
                 frame_table(drivers, title="Top drivers (mean |contribution|)", digits=3),
                 f"{split['how']}; {model.spec['params']['num_boost_round']} rounds; model written to {folder}")


def _score_summary(result: Any) -> str:
    a = result.stats["alerts"]
    called = result.stats.get("called")
    tail = f"; {called:,} to call" if called is not None else ""
    return f"{result.stats['customers']:,} customers scored: {a['red']:,} red, {a['amber']:,} amber{tail}"


def _evaluation_summary(ev: Any) -> Any:
    from rich.console import Group

    out = [_deciles_table(ev, "Deciles (1 = highest risk)"),
           frame_table(ev.calibration, title="Calibration", digits=4)]
    if ev.drift is not None:
        out.append(frame_table(ev.drift, title="Drift against --previous (PSI)", digits=3))
    return Group(*out)


# After the campaign: the call list's treat and control groups compared (cli/campaign.py).
app.command("effect", cls=ReadingCommand)(campaign.effect)
