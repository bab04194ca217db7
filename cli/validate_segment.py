"""``segment validate-segment``: is a segmentation real, arbitrary or too fine?"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from segment.errors import CheckFailed, OptionError

from . import options as opt
from .parsing import split_list
from .run import Run
from .validate_report import verdict_report

NAME = "validate-segment"
EXAMPLE = "segment validate-segment c.csv --segment plan --outcome churn"
TESTS_PANEL = "Tests"


class NumericTest(str, Enum):
    kruskal = "kruskal"
    anova = "anova"
    welch = "welch"


class MergeRule(str, Enum):
    pairs = "pairs"
    chaid = "chaid"


class Effect(str, Enum):
    small = "small"
    medium = "medium"
    large = "large"


def _side(help: str) -> typer.models.OptionInfo:
    return typer.Option(help=help, rich_help_panel=opt.IO_PANEL, show_default=False)


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    segment: Annotated[str, typer.Option(help="Column holding the segment label.", rich_help_panel=opt.COLUMNS_PANEL)] = ...,  # type: ignore[assignment]
    outcome: Annotated[str, typer.Option(help="Outcome column(s) the segments should explain, e.g. churn,arpu,mou.",
                                         rich_help_panel=opt.COLUMNS_PANEL)] = ...,  # type: ignore[assignment]
    outcome_type: Annotated[str | None, typer.Option(help="Force outcome types: 'churn=binary,plan=categorical', or one "
                                                     "of binary|categorical|numeric for all [default: detected].",
                                                     rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    id: opt.Id = None,  # type: ignore[assignment]
    numeric_test: Annotated[NumericTest, typer.Option(help="Test for numeric outcomes (post-hoc: Dunn / Student t / Welch t).",
                                                      rich_help_panel=TESTS_PANEL)] = NumericTest.kruskal,
    alpha: Annotated[float, opt.alpha(panel=TESTS_PANEL)] = 0.05,
    correction: Annotated[opt.Correction, opt.correction("Multiple-testing correction across outcomes and pairs.",
                                                         TESTS_PANEL)] = opt.Correction.holm,
    merge_rule: Annotated[MergeRule, typer.Option(
        help="pairs: merge only segments --pairs does not tell apart (pairs adjusted as one family); chaid: Kass's "
             "unadjusted alpha-merge on pooled groups.", rich_help_panel=TESTS_PANEL)] = MergeRule.pairs,
    ordinal: Annotated[bool | None, typer.Option(
        "--ordinal/--nominal", help="Segments are ordered tiers (only neighbours merge) or not [default: detected: "
        "labels 1..k, '1-Highest'..'7-Lowest', an ordered categorical].", rich_help_panel=TESTS_PANEL,
        show_default=False)] = None,
    noise_label: Annotated[str, typer.Option(help="Label of noise (no cluster): never merged, its own group.",
                                             rich_help_panel=TESTS_PANEL)] = "-1",
    standout_effect: Annotated[Effect, typer.Option(help="Name segments that differ from the rest significantly by "
                                                         "at least this effect.",
                                                    rich_help_panel=TESTS_PANEL)] = Effect.medium,
    made_from: Annotated[str | None, typer.Option(help="Columns the segments were made from; an outcome among them "
                                                       "is circular [default: from the input's provenance].",
                                                  rich_help_panel=opt.COLUMNS_PANEL, show_default=False)] = None,
    min_size: Annotated[int, opt.min_size("Segments with fewer rows are too small to act on.", TESTS_PANEL)] = 30,
    min_share: Annotated[float, typer.Option(help="Segments with a smaller share of rows are too small (0.01 = 1%).",
                                             rich_help_panel=TESTS_PANEL)] = 0.01,
    holdout: Annotated[float, typer.Option(help="Share of rows held out to check that differences replicate (0 = off).",
                                           rich_help_panel=TESTS_PANEL)] = 0.0,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for segment intervals (0 = none).",
                                           rich_help_panel=TESTS_PANEL)] = 0,
    mc_samples: Annotated[int, typer.Option(help="Monte-Carlo tables when chi-square expected counts are small.",
                                            rich_help_panel=TESTS_PANEL)] = 10_000,
    max_segments: Annotated[int, typer.Option(help="Refuse more distinct segments than this.")] = 1000,
    pairs: Annotated[str | None, _side("Also write the pairwise comparisons to FILE.")] = None,
    merge_map: Annotated[str | None, _side("Also write the merge map (segment -> merged_segment) to FILE.")] = None,
    profile: Annotated[str | None, _side("Also write per-segment rates / medians (with intervals) to FILE.")] = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Also write everything as JSON to FILE.",
                                                  rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 unless the verdict is valid, writing no -o output (side outputs "
                                              "named with --json etc. are written); empty segment labels are an "
                                              "error.")] = False,
    seed: opt.Seed = 0,
    engine: opt.EngineOption = opt.Engine.polars,
    spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None,
    spark_table: opt.SparkTable = None,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Test whether segments really differ on outcomes: verdict valid, over-fine or arbitrary."""
    from segment.validate import is_cluster_label, made_from as features_of, validate_segment

    with Run(NAME) as run:
        table = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                                spark_table=spark_table, fmt=from_, string_columns=[c for c in (segment, id) if c])
        run.check_outputs(output, pairs, merge_map, profile, to=to, documents=(json_path,))
        names = split_list(outcome) or []
        sources = split_list(made_from) if made_from else features_of(table.provenance, segment)
        tiers = False if ordinal is None and is_cluster_label(table.provenance, segment) else ordinal
        with run.progress() as report:
            result = validate_segment(
                table.frame, segment=segment, outcomes=names, outcome_types=parse_types(outcome_type, names),
                numeric_test=numeric_test.value, alpha=alpha, correction=correction.value,
                merge_rule=merge_rule.value, ordinal=tiers, noise_label=noise_label,
                standout_effect=standout_effect.value, made_from=sources, min_size=min_size,
                min_share=min_share, holdout=holdout, bootstrap=bootstrap, mc_samples=mc_samples,
                max_segments=max_segments, id=id, strict=strict, seed=seed, progress=report)
        details = {**result.params, "verdict": result.verdict, "stats": result.stats}
        for frame, path, role in ((result.pairs, pairs, "pairs"), (result.merge_map, merge_map, "merge-map"),
                                  (result.profile, profile, "profile")):
            if path:
                run.write_side(frame, path, role=role, details=details)
        if json_path:
            run.write_json(result.to_dict(), json_path, role="json", rows=result.outcomes.height)
        failed = strict and result.verdict != "valid"
        if not failed:  # a failing gate leaves no target for Make to find, with or without .DELETE_ON_ERROR
            run.write(result.outcomes, output, to, details=details)
        run.summary(lambda: verdict_report(result))
        if failed:
            raise CheckFailed(f"verdict is {result.verdict}, not valid: {result.reasons[0]}"
                              + (f" (nothing written to {output})" if output and output != "-" else ""))


def parse_types(value: str | None, outcomes: list[str]) -> dict[str, str] | None:
    """``"a=binary,b=numeric"`` -> dict; a bare kind applies to every outcome.

    >>> parse_types("churn=binary, arpu=numeric", ["churn", "arpu"])
    {'churn': 'binary', 'arpu': 'numeric'}
    >>> parse_types("numeric", ["a", "b"])
    {'a': 'numeric', 'b': 'numeric'}
    """
    items = split_list(value)
    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return {name: items[0] for name in outcomes}
    out = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or not name.strip():
            raise OptionError(f"--outcome-type expects column=type pairs, e.g. churn=binary, got {item!r}")
        out[name.strip()] = kind.strip()
    return out
