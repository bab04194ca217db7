"""``segment lifecycle``: lifecycle stages, stage transitions, and a panel from transactions.

``segment lifecycle INPUT ...`` is ``segment lifecycle stages INPUT ...``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import polars as pl
import typer

from segment.errors import OptionError

from . import options as opt
from .errors import SegmentGroup, command_group
from .parsing import split_list
from .reading import ReadingCommand
from .render import frame_table
from .run import Run

NAME = "lifecycle"
EXAMPLE = "segment lifecycle panel.parquet --voice voice_min --data data_mb"
HELP = ("Lifecycle stages (acquisition, build-up, maturity, decline, exit) from a monthly usage panel; "
        "stage transitions and projections; a monthly panel from transactions.\n\n"
        "segment lifecycle INPUT ... is short for segment lifecycle stages INPUT ...")
RULES = "Stage rules"


class _StagesByDefault(SegmentGroup):
    """``segment lifecycle INPUT`` runs the ``stages`` subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["stages", *args]
        return super().parse_args(ctx, args)


app = command_group(NAME, HELP, _StagesByDefault)


class Scheme(str, Enum):
    """Rule schemes: one option, one value per scheme."""

    telecom = "telecom"
    purchases = "purchases"
    b2b = "b2b"


class Dedupe(str, Enum):
    error = "error"
    sum = "sum"


def _col(help: str, default: bool = False) -> Any:
    return typer.Option(help=help, rich_help_panel=opt.COLUMNS_PANEL, show_default=default)


def _rule(help: str) -> Any:
    return typer.Option(help=help, rich_help_panel=RULES)


Month = Annotated[str, _col("Month column: a date, YYYY-MM or YYYYMM.", True)]
Voice = Annotated[str | None, _col("Voice minutes (MOU) column.")]
Data = Annotated[str | None, _col("Data volume column.")]
Revenue = Annotated[str | None, _col("Revenue (ARPU) column; also summed per stage in --kpis.")]
Metric = Annotated[list[str] | None, _col("Other usage column(s); repeat or comma-separate.")]
Status = Annotated[str | None, _col("Line status column (active / suspended / cancelled; with --scheme b2b also "
                                   "prospect).")]
StatusValues = Annotated[str | None, _col("Status values, e.g. 'cancelled=C,closed suspended=S active=A'.")]
Identity = Annotated[str | None, _col("Person key (ID document, account): finds re-entries and number swaps; "
                                     "churn is then counted in persons.")]
Activation = Annotated[str | None, _col("Activation date column (default: first month with usage).")]
AsOf = Annotated[str | None, typer.Option(help="Last month to analyse, YYYY-MM (default: the panel's last month).",
                                          show_default=False)]
DedupeOpt = Annotated[Dedupe, typer.Option(help="More than one row per customer and month: error, or sum them.")]
Window = Annotated[int, _rule("Decline: months in the recent window (this month included).")]
Baseline = Annotated[int, _rule("Decline: months before the window the customer is compared with.")]
Drop = Annotated[float, _rule("Decline: fall of a metric's mean against its baseline (0.3 = 30%).")]
ExitAfter = Annotated[int, _rule("Exit: months in a row without usage.")]
Acquisition = Annotated[int, _rule("Acquisition up to this tenure month.")]
BuildUp = Annotated[int, _rule("Build-up up to this tenure month; maturity after.")]
Winback = Annotated[int, _rule("Win-back window: usage again after 1 to N silent months is a win-back; months a "
                               "suspended line has before cancellation (winback_months_left).")]
SchemeOpt = Annotated[Scheme, _rule("Rules: telecom (usage falls, silent months), purchases (each customer's "
                                    "own gap between purchases; for shop transaction logs) or b2b (group accounts "
                                    "in six stages, from their lines; needs --account and --revenue).")]
Overdue = Annotated[float, _rule("--scheme purchases: decline once this many median gaps pass without a purchase; "
                                 "exit --winback months later.")]
Account = Annotated[str | None, _col("--scheme b2b: account (group customer) column the lines roll up to; the "
                                    "output has one row per account.")]
Product = Annotated[list[str] | None, _col("--scheme b2b: product or service column(s) of a line; products held "
                                          "= distinct values (text) or columns above zero (numbers) over active "
                                          "lines. Repeat or comma-separate.")]
Cost = Annotated[str | None, _col("--scheme b2b: the operator's cost column; --kpis and the summary add cost and "
                                 "profit (revenue - cost).")]
Development = Annotated[int, _rule("--scheme b2b: months of development from the first purchase.")]
Grow = Annotated[float, _rule("--scheme b2b: growth when active lines, products or revenue over the --window "
                              "rise by more than this against the window before (0.1 = 10%).")]


def parse_status_values(value: str | None) -> dict[str, list[str]] | None:
    """``"cancelled=C,closed suspended=S"`` -> ``{"cancelled": ["C", "closed"], "suspended": ["S"]}``."""
    if not value:
        return None
    out: dict[str, list[str]] = {}
    for token in value.replace(";", " ").split():
        name, sep, words = token.partition("=")
        if not sep or not words.strip(","):
            raise OptionError(f"--status-values expects name=value,... (e.g. cancelled=C,closed), got {token!r}")
        out[name.strip().lower()] = [w for w in words.split(",") if w]
    return out


def _panel_keywords(
    id: opt.Id = "customer_id", month: Month = "month", voice: Voice = None, data: Data = None,
    revenue: Revenue = None, metric: Metric = None, status: Status = None, status_values: StatusValues = None,
    identity: Identity = None, activation: Activation = None, date_format: opt.DateFormat = None,
    as_of: AsOf = None, dedupe: DedupeOpt = Dedupe.error, window: Window = 3, baseline: Baseline = 3,
    drop: Drop = 0.30, exit_after: ExitAfter = 3, acquisition: Acquisition = 3, build_up: BuildUp = 6,
    winback: Winback = 3, scheme: SchemeOpt = Scheme.telecom, overdue: Overdue = 2.0, account: Account = None,
    product: Product = None, cost: Cost = None, development: Development = 6, grow: Grow = 0.10,
) -> dict[str, Any]:
    """The panel and stage-rule options of ``stages`` and ``transitions``, as library keywords."""
    metrics = [m for item in (metric or []) for m in (split_list(item) or [])]
    products = [m for item in (product or []) for m in (split_list(item) or [])]
    return dict(id=id, month=month, voice=voice, data=data, revenue=revenue, metrics=metrics, status=status,
                status_values=parse_status_values(status_values), identity=identity, activation=activation,
                date_format=date_format, as_of=as_of, dedupe=dedupe.value, window=window, baseline=baseline,
                drop=drop, exit_after=exit_after, acquisition=acquisition, build_up=build_up, winback=winback,
                scheme=scheme.value, overdue=overdue, account=account, products=products, cost=cost,
                development=development, grow=grow)


def _with_panel_options(command: Callable[..., None]) -> Callable[..., None]:
    """Put the options of :func:`_panel_keywords` where *command* has its ``panel`` parameter.

    Typer reads a command's options from its signature, so the shared ones
    are spliced into it here; the command receives them as one ``panel``
    dict of library keywords.
    """
    shared = inspect.signature(_panel_keywords, eval_str=True).parameters
    params: list[inspect.Parameter] = []
    for p in inspect.signature(command, eval_str=True).parameters.values():
        params.extend(shared.values() if p.name == "panel" else [p])

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        panel = _panel_keywords(**{name: kwargs.pop(name) for name in shared})
        return command(panel=panel, **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


@app.command("stages", cls=ReadingCommand)
@_with_panel_options
def stages(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    panel: dict[str, Any] = None,  # type: ignore[assignment]
    history: Annotated[bool, typer.Option(help="One row per customer-month instead of one per customer.")] = False,
    at: Annotated[str | None, typer.Option(
        help="The --history rows of one month only (YYYY-MM): one row per customer, with next_stage and "
             "churn_next_month, to test the stages against the next month.", show_default=False)] = None,
    kpis: Annotated[str | None, typer.Option(help="Also write the monthly KPIs per stage to FILE.",
                                             rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    engine: opt.EngineOption = opt.Engine.polars, spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None, spark_table: opt.SparkTable = None,
    verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Each customer's lifecycle stage as of the last month (or every month with --history)."""
    from segment.lifecycle import lifecycle
    from segment.lifecycle import parse_month_option

    with Run(NAME) as run:
        parse_month_option(at, "--at")  # its format now; whether the panel has it, once read
        table = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                                spark_table=spark_table, fmt=from_, string_columns=_key_columns(panel))
        check = run.check_dataset if engine is opt.Engine.spark else run.check_outputs
        check(output, kpis, to=to)
        with run.progress() as report:
            result = lifecycle(table.frame, **panel, progress=report)
        details = {**result.params(), "stats": result.stats}
        if kpis:
            run.write_side(result.kpis(), kpis, role="kpis", details=details)
        out = result.history(at) if history or at else result.snapshot()
        rows = None if at else result.stats["slots" if history else "customers"]
        run.write(out, output, to, details=details, rows=rows)
        run.summary(lambda: stage_table(result), *([lambda: profit_table(result)] if result.cost else []))


@app.command("transitions", cls=ReadingCommand)
@_with_panel_options
def transitions(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    panel: dict[str, Any] = None,  # type: ignore[assignment]
    project: Annotated[int, typer.Option(min=0, help="Project stage counts this many months ahead (0 = none).")] = 0,
    projection: Annotated[str | None, typer.Option(help="Write the --project table to FILE.",
                                                   rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    engine: opt.EngineOption = opt.Engine.polars, spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None, spark_table: opt.SparkTable = None,
    verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """Month-to-month stage transition counts and probabilities (a Markov matrix)."""
    from segment.lifecycle import lifecycle

    with Run(f"{NAME} transitions") as run:
        if projection and project < 1:
            raise OptionError("--projection needs --project N (months ahead)")
        # The matrix is small: written as a file with either engine.
        table = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                                spark_table=spark_table, fmt=from_, string_columns=_key_columns(panel))
        run.check_outputs(output, projection, to=to)
        with run.progress() as report:
            result = lifecycle(table.frame, **panel, progress=report)
        matrix = result.transitions()
        ahead = result.projection(project) if project else None
        details = {**result.params(), "stats": result.stats}
        if projection and ahead is not None:
            run.write_side(ahead, projection, role="projection", details=details)
        run.write(matrix, output, to, details=details)
        run.summary(matrix_table(matrix, result.params()["as_of"]),
                    *([projection_summary(ahead)] if ahead is not None else []))


def _key_columns(panel: dict[str, Any]) -> list[str]:
    """Key columns read as text, so that ids with leading zeros stay ids."""
    key = panel["account"] or panel["id"]  # --scheme b2b: rows are keyed by account
    return [c for c in (key, panel["identity"]) if c]


@app.command("panel", cls=ReadingCommand)
def panel(
    input: opt.Input = "-", output: opt.Output = None, to: opt.To = None, from_: opt.From = None,
    id: opt.Id = "customer_id", date: opt.Date = "date", amount: opt.Amount = "amount",
    quantity: Annotated[str | None, _col("Quantity column; amount becomes amount x quantity.")] = None,
    order: Annotated[str | None, _col("Order (invoice) id column; orders = its distinct values.")] = None,
    date_format: opt.DateFormat = None, verbose: opt.Verbose = False, quiet: opt.Quiet = False,
) -> None:
    """A monthly panel (orders, revenue per customer and month) from transactions."""
    from segment.lifecycle import monthly_panel

    with Run(f"{NAME} panel") as run:
        tx = run.read(input, fmt=from_, string_columns=[id])
        run.check_outputs(output, to=to)
        table = monthly_panel(tx.frame, id=id, date=date, amount=amount, quantity=quantity, order=order,
                              date_format=date_format)
        run.write(table, output, to, details={"columns": {"orders": "orders", "revenue": "revenue"}})
        run.summary(f"{table.height:,} customer-months, {table[id].n_unique():,} customers, "
                    f"{table['month'].min()} to {table['month'].max()}; next: segment lifecycle FILE "
                    f"--id {id} --metric orders --revenue revenue --scheme purchases")


command = stages


def stage_table(result: Any):
    counts = result.counts()
    names = result.params()["stages"]
    unit = "accounts" if result.rules.scheme == "b2b" else "customers"
    total = max(int(counts["customers"].sum()), 1)
    rows = (counts.group_by("stage", maintain_order=True)
            .agg(customers=pl.col("customers").sum(),
                 subtypes=pl.concat_str(pl.col("subtype").cast(pl.String), pl.lit(" "),
                                        pl.col("customers").cast(pl.String))
                 .sort_by(pl.col("customers"), descending=True).drop_nulls().str.join(", ")))
    every = pl.DataFrame({"stage": pl.Series(names, dtype=counts.schema["stage"])})
    rows = (every.join(rows, on="stage", how="left", maintain_order="left")
            .with_columns(pl.col("customers").fill_null(0), pl.col("subtypes").fill_null(""))
            .with_columns(share=pl.col("customers") / total * 100)
            .select("stage", pl.col("customers").alias(unit), pl.col("share").alias("share %"), "subtypes"))
    stats = result.stats
    caption = (f"{total:,} {unit} as of {result.params()['as_of']}, {stats['rows']:,} rows read; "
               f"{stats['gap_slots']:,} {unit[:-1]}-months without a row counted as zero usage")
    return frame_table(rows.with_columns(pl.col("stage").cast(pl.String)), title="Lifecycle stages",
                       digits=1, caption=caption)


def profit_table(result: Any):
    totals = result.stage_totals().select(
        pl.col("stage").cast(pl.String), pl.col("customer_months").alias("account-months"),
        *(pl.col(f"{c}_per_customer_month").alias(c) for c in ("revenue", "cost", "profit")))
    return frame_table(totals, title="Per account-month, by stage (all months)", digits=1,
                       caption="revenue, cost and profit summed over the panel's months, divided by account-months")


def matrix_table(table: pl.DataFrame, as_of: str):
    wide = (table.with_columns(pl.col("from", "to").cast(pl.String))
            .pivot(on="to", index="from", values="probability", sort_columns=False))
    moves = table.group_by("from", maintain_order=True).agg(pl.col("moves").sum())
    wide = wide.with_columns(moves=moves["moves"]).rename({"from": "from \\ to"})
    return frame_table(wide, title="Stage transition probabilities (per month)", digits=3,
                       caption=f"moves counted over every pair of consecutive months up to {as_of}")


def projection_summary(ahead: pl.DataFrame):
    wide = (ahead.with_columns(pl.col("stage").cast(pl.String), pl.col("month").cast(pl.String))
            .pivot(on="stage", index="month", values="customers", sort_columns=False))
    return frame_table(wide, title="Projected customers per stage", digits=1, max_rows=13)
