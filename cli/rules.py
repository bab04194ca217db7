"""``segment rules``: plans and services that go with churn, and which rules are real."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import polars as pl
import typer
from rich.text import Text

from . import options as opt
from .parsing import parse_breaks, split_list
from .render import frame_table
from .run import Run

NAME = "rules"
EXAMPLE = "segment rules snapshot.csv --target churn=Yes -o rules.csv"

MINING = "Mining"
TESTS = "Tests and filters"
TEXT = "Complaint texts"


class Sort(str, Enum):
    lift = "lift"
    leverage = "leverage"
    p = "p"
    confidence = "confidence"


class Engine(str, Enum):
    bitset = "bitset"
    mlxtend = "mlxtend"
    spark = "spark"


class Lang(str, Enum):
    auto = "auto"
    zh = "zh"
    en = "en"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    id: opt.Id = "customer_id",
    target: Annotated[str, typer.Option(help="Target column, or column=value (churn, churn=Yes); with --long, "
                                             "the item marking target customers.",
                                        rich_help_panel=opt.COLUMNS_PANEL)] = "churn",
    items: Annotated[str | None, typer.Option(help="Columns to make items from, a,b,c (default: all but id and "
                                                   "target); with --long, item values.",
                                              rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    exclude: Annotated[str | None, typer.Option(help="Columns (with --long, item values) to leave out, a,b,c.",
                                                rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    long: Annotated[bool, typer.Option(help="Input is long: one row per customer and item.",
                                       rich_help_panel=opt.COLUMNS_PANEL)] = False,
    item: Annotated[str, typer.Option(help="Item column of --long input.", rich_help_panel=opt.COLUMNS_PANEL)] = "item",
    bins: Annotated[int, typer.Option(help="Quantile bins per number column.", rich_help_panel=MINING)] = 4,
    breaks: Annotated[str | None, typer.Option(help="Explicit bin breaks, e.g. 'tenure=12,24; Monthly Charges=50,80'.",
                                               rich_help_panel=MINING, show_default=False)] = None,
    with_no: Annotated[bool | None, typer.Option("--with-no/--yes-only",
                                                 help="Yes/no columns give column=yes and column=no items "
                                                      "(default); --yes-only drops the no side.",
                                                 rich_help_panel=MINING, show_default=False)] = None,
    categorical: Annotated[str | None, typer.Option(help="Columns whose values are codes, one item per value, "
                                                         "a,b,c.", rich_help_panel=MINING,
                                                    show_default=False)] = None,
    max_categories: Annotated[int, typer.Option(help="Whole-number columns with at most this many values are "
                                                     "codes (0: bin every number column).",
                                                rich_help_panel=MINING)] = 10,
    negative: Annotated[bool, typer.Option(help="Also mine rules X -> not target (what goes with staying).",
                                           rich_help_panel=MINING)] = False,
    min_support: Annotated[float | None, typer.Option(help="Minimum rule support, a fraction of customers "
                                                           "(default: 0.01).", rich_help_panel=MINING,
                                                      show_default=False)] = None,
    min_count: Annotated[int | None, typer.Option(help="Minimum rule support as a number of customers "
                                                       "(instead of --min-support).", rich_help_panel=MINING,
                                                  show_default=False)] = None,
    min_confidence: Annotated[float, typer.Option(help="Minimum confidence.", rich_help_panel=MINING)] = 0.0,
    min_lift: Annotated[float, typer.Option(help="Minimum lift.", rich_help_panel=MINING)] = 1.0,
    max_len: Annotated[int, typer.Option(help="Most items in a rule's antecedent.", rich_help_panel=MINING)] = 3,
    engine: Annotated[Engine, typer.Option(help="Miner: bitset (numpy bit vectors), mlxtend's fpgrowth (same "
                                                "rules, slower), or spark: the family counted on a Spark cluster, "
                                                "INPUT then a Parquet file or directory or any URI Spark reads "
                                                "(same rules).", rich_help_panel=MINING)] = Engine.bitset,
    spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None,
    spark_table: opt.SparkTable = None,
    correction: Annotated[opt.Correction, opt.correction("Multiple-testing correction over the family: every "
                                                         "antecedent held by the minimum count of customers.",
                                                         TESTS)] = opt.Correction.holm,
    alpha: Annotated[float, opt.alpha("Significance level of the adjusted p-value.", TESTS)] = 0.05,
    keep_redundant: Annotated[bool, typer.Option(help="Keep rules no better than a shorter one (flagged).",
                                                 rich_help_panel=TESTS)] = False,
    keep_insignificant: Annotated[bool, typer.Option(help="Keep rules that are not significant (flagged).",
                                                     rich_help_panel=TESTS)] = False,
    productive: Annotated[bool, typer.Option(help="Keep only rules significantly better than each shorter "
                                                  "rule inside them (Webb).", rich_help_panel=TESTS)] = False,
    merge_same: Annotated[bool, typer.Option(help="Rules covering exactly the same customers are one row, the "
                                                  "other wordings in same_as.", rich_help_panel=TESTS)] = True,
    sort: Annotated[Sort, typer.Option(help="Order, significant and productive rules first.",
                                       rich_help_panel=TESTS)] = Sort.lift,
    top: Annotated[int | None, typer.Option(help="Keep only the first N rules.", rich_help_panel=TESTS,
                                            show_default=False)] = None,
    text: Annotated[str | None, typer.Option(help="Column of complaint or note texts: its terms become items "
                                                  "text:TERM, tested like any other item.",
                                             rich_help_panel=TEXT, show_default=False)] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the texts: zh (word segmentation), en (words, stop "
                                            "words, stemming) or auto (zh when a text holds Chinese).",
                                       rich_help_panel=TEXT)] = Lang.auto,
    terms: Annotated[str | None, typer.Option(help="Terms file: a word per line is a stop word; word=theme "
                                                   "groups synonyms into one item (信号=network).",
                                              rich_help_panel=TEXT, show_default=False)] = None,
    min_term_count: Annotated[int, typer.Option(help="Keep only terms in at least this many customers.",
                                                rich_help_panel=TEXT)] = 10,
    complaints: Annotated[str | None, typer.Option(help="The texts as a table of their own, one row per complaint "
                                                        "(--id, --text, --date); a customer's terms are the "
                                                        "union over their complaints.",
                                                   rich_help_panel=TEXT, show_default=False)] = None,
    date: Annotated[str, typer.Option(help="Date column of --complaints (used with --since).",
                                      rich_help_panel=TEXT)] = "date",
    since: Annotated[str | None, typer.Option(help="Only complaints dated on or after this day, YYYY-MM-DD.",
                                              rich_help_panel=TEXT, show_default=False)] = None,
    item_table: Annotated[str | None, typer.Option(help="Also write the items used (customers, target rate) "
                                                        "to FILE.", rich_help_panel=opt.IO_PANEL,
                                                   show_default=False)] = None,
    old_column_names: Annotated[bool, typer.Option(help="Deprecated: write n_antecedent, n_rule and with_target "
                                                        "(0.1 names) instead of customers and target_customers.",
                                                   rich_help_panel=opt.IO_PANEL)] = False,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Association rules X -> target (churn), tested with Fisher's exact test, redundant ones dropped."""
    from segment.rules import OLD_NAMES, refused_on_spark, rules

    with Run(NAME) as run:
        if with_no:
            run.warn("--with-no is the default now (--yes-only drops the no side); the option goes in the "
                     "next release")
        if old_column_names:
            run.warn("--old-column-names is deprecated: n_antecedent is now customers, n_rule "
                     "target_customers, with_target target_customers; the option goes in the next release")
        if engine is Engine.spark:
            refused_on_spark(long=long, text=text, complaints=complaints)
        table = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                                spark_table=spark_table, fmt=from_, string_columns=[id])
        if engine is Engine.spark and not table.frame.limit(1).count():
            from segment.errors import EmptyInputError

            raise EmptyInputError(f"input {table.name!r} has a header but no data rows (columns: "
                                  f"{', '.join(table.frame.columns)})")
        texts = run.read(complaints, string_columns=[id]).frame if complaints else None
        run.check_outputs(output, item_table, to=to)
        with run.progress("mining") as report:
            result = rules(table.frame, target=target, id=id, items=split_list(items), exclude=split_list(exclude),
                           long=long, item=item, bins=bins, breaks=parse_breaks(breaks),
                           with_no=with_no is not False, categorical=split_list(categorical),
                           max_categories=max_categories, negative=negative, min_support=min_support,
                           min_count=min_count,
                           min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                           correction=correction.value, alpha=alpha, keep_redundant=keep_redundant,
                           keep_insignificant=keep_insignificant, productive=productive, merge_same=merge_same,
                           sort=sort.value,
                           top=top, engine=engine.value, text=text, lang=lang.value,
                           terms=read_terms(terms), min_term_count=min_term_count, complaints=texts, date=date,
                           since=since, progress=report)
        details = {**result.params, "stats": result.stats}
        rules_out, items_out = result.table, result.items
        if old_column_names:
            rules_out = rules_out.rename(OLD_NAMES)
            items_out = items_out.rename({"target_customers": "with_target"})
        if item_table:
            run.write_side(items_out, item_table, role="item-table", details=details)
        run.write(rules_out, output, to, details=details)
        run.summary(summary_table(result.table, result.stats, result.params))


def read_terms(path: str | None) -> list[str] | None:
    """Lines of a terms file (UTF-8, a BOM allowed)."""
    if path is None:
        return None
    from pathlib import Path

    from segment.errors import OptionError

    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise OptionError(f"--terms {path}: cannot read it as UTF-8 text ({err.__class__.__name__})") from None


def summary_table(table: pl.DataFrame, stats: dict[str, int], params: dict):
    """The first rules with the segment's size and its customers with the target, side by side.

    A significant rule that is not productive is marked ``*`` (no extra
    column: the rule's text needs the width).
    """
    target = params["positive"]
    columns = ["antecedent", "customers", "target_customers", "confidence", "lift", "p_adjusted"]
    if len(params["consequents"]) > 1:
        columns.insert(1, "consequent")
    head = table  # all written rules: the table shows 10 and says "10 of N rows shown"
    marked = head["significant"] & ~head["productive"]
    shown = head.select(columns).with_columns(
        pl.Series("p_adjusted", [f"{p:.2g}" for p in head["p_adjusted"]], dtype=pl.String),
        pl.when(pl.Series(marked)).then(pl.col("antecedent") + " *").otherwise(pl.col("antecedent")),
    ).rename({"target_customers": target, "confidence": "conf.", "p_adjusted": "p adj."})
    family = f"{stats['family']:,} antecedents" + (" x 2 consequents" if len(params["consequents"]) > 1 else "")
    caption = (f"{stats['customers']:,} customers, {stats['target_customers']:,} with {target} "
               f"({100 * params['base_rate']:.1f}%); {stats['items']:,} items; family of {family} held by "
               f"{params['min_count']:,}+ customers, tested ({params['correction']}); {stats['mined']:,} rules "
               f"with {params['min_count']:,}+ in the consequent, {stats['passing_thresholds']:,} pass the "
               f"thresholds, {stats['significant']:,} significant ({stats['productive']:,} productive), "
               f"{stats['non_redundant']:,} not redundant; {stats['written']:,} written")
    if "text" in params:
        t = params["text"]
        caption += (f"; texts: {t['customers_with_text']:,} customers with text, {t['terms']:,} terms, "
                    f"{t['terms_kept']:,} in {max(params['min_count'], t['min_term_count']):,}+ customers")
    if stats.get("merged_same_customers"):
        caption += f" ({stats['merged_same_customers']:,} merged into same_as: same customers)"
    if marked.any():
        caption += "; * significant, not productive"
    if table.height == 0:
        return Text(f"No rule to show. {caption}")
    rendered = frame_table(shown, title="Rules", digits=3, max_rows=10, caption=caption)
    for column in rendered.columns[1:]:  # fold the rule's text, not the headers of the numbers
        column.min_width = len(str(column.header))
    return rendered
