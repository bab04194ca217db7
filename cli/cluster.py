"""``segment cluster``: hdbscan (or k-means) clusters of customers, explained."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import polars as pl
import typer

from segment.cluster import DEFAULT_FIT_SAMPLE

from . import options as opt
from .parsing import split_list
from .render import frame_table
from .run import Run

NAME = "cluster"
EXAMPLE = "segment cluster rfm.parquet -o clusters.parquet --profile prof.csv"
MODEL = "Model"


class Algorithm(str, Enum):
    hdbscan = "hdbscan"
    kmeans = "kmeans"


class Scale(str, Enum):
    robust = "robust"
    standard = "standard"
    none = "none"


class Selection(str, Enum):
    eom = "eom"
    leaf = "leaf"


class Noise(str, Enum):
    keep = "keep"
    nearest = "nearest"


def command(
    input: opt.Input = "-",
    output: opt.Output = None,
    to: opt.To = None,
    from_: opt.From = None,
    profile: Annotated[str | None, typer.Option(help="Also write the per-cluster profile (sizes, medians, "
                                                "distinctive features, stability) to FILE.",
                                                rich_help_panel=opt.IO_PANEL, show_default=False)] = None,
    id: opt.Id = "customer_id",
    features: Annotated[str | None, typer.Option(help="Columns to cluster on, e.g. arpu,avg_data_mb "
                                                 "(default: numeric columns except the id and score/label "
                                                 "columns).", rich_help_panel=opt.COLUMNS_PANEL,
                                                 show_default=False)] = None,
    log: Annotated[str, typer.Option(help="log1p: auto (non-negative features with skewness > 1), none, "
                                     "or a list a,b.")] = "auto",
    scale: Annotated[Scale, typer.Option(help="Scaling: robust (median/IQR), standard (mean/sd), none.")] = Scale.robust,
    drop_nulls: Annotated[bool, typer.Option(help="Drop customers with an empty feature instead of stopping.")] = False,
    algorithm: Annotated[Algorithm, typer.Option(help="hdbscan (finds the number of clusters and noise) or "
                                                 "kmeans (needs --k).", rich_help_panel=MODEL)] = Algorithm.hdbscan,
    min_size: Annotated[int | None, opt.min_size("Smallest cluster, in customers (default: max(30, 1% of "
                                                 "customers)).", MODEL, show_default=False)] = None,
    min_samples: Annotated[int, typer.Option(help="hdbscan min_samples: small keeps memory bounded.",
                                             rich_help_panel=MODEL)] = 10,
    selection: Annotated[Selection, typer.Option(help="hdbscan cluster selection: eom (stable, larger) or "
                                                 "leaf (finer).", rich_help_panel=MODEL)] = Selection.eom,
    epsilon: Annotated[float, typer.Option(help="hdbscan cluster_selection_epsilon (scaled units): merge "
                                           "clusters closer than this.", rich_help_panel=MODEL)] = 0.0,
    k: Annotated[int | None, typer.Option("--k", help="Number of groups for --algorithm kmeans.",
                                          rich_help_panel=MODEL, show_default=False)] = None,
    noise: Annotated[Noise, typer.Option(help="nearest: add nearest_cluster, the closest cluster of each "
                                         "noise customer.", rich_help_panel=MODEL)] = Noise.keep,
    fit_sample: Annotated[int, typer.Option(help="Fit on a seeded sample of this many customers and assign "
                                            "the rest.", rich_help_panel=MODEL)] = DEFAULT_FIT_SAMPLE,
    stability: Annotated[int, typer.Option(help="Bootstrap refits for per-cluster stability (Jaccard; "
                                           "< 0.6 not trustworthy, >= 0.75 stable).", rich_help_panel=MODEL)] = 0,
    seed: opt.Seed = 0,
    engine: opt.EngineOption = opt.Engine.polars,
    spark_master: opt.SparkMaster = None,
    spark_conf: opt.SparkConf = None,
    spark_table: opt.SparkTable = None,
    verbose: opt.Verbose = False,
    quiet: opt.Quiet = False,
) -> None:
    """Clusters of customers (hdbscan, or k-means), with profiles that explain them."""
    from segment.cluster import cluster

    with Run(NAME) as run:
        table = run.read_engine(input, engine=engine, spark_master=spark_master, spark_conf=spark_conf,
                                spark_table=spark_table, fmt=from_, string_columns=[id])
        check = run.check_dataset if engine is opt.Engine.spark else run.check_outputs
        check(output, profile, to=to)
        with run.progress("clustering") as report:
            result = cluster(table.frame, id=id, features=split_list(features), log=log, scale=scale.value,
                             algorithm=algorithm.value, min_cluster_size=min_size,
                             min_samples=min_samples, selection=selection.value, epsilon=epsilon, k=k,
                             noise=noise.value, fit_sample=fit_sample, stability=stability,
                             drop_nulls=drop_nulls, seed=seed, progress=report)
        if profile:
            run.write_side(result.profile, profile, role="profile", details=result.params)
        run.write(result.table, output, to, details={**result.params, "stats": result.stats},
                  rows=result.stats["customers"])
        run.summary(*summary(result.profile, result.params, result.stats))


def summary(prof: pl.DataFrame, params: dict, stats: dict) -> tuple:
    """A table of sizes, stability and what sets each cluster apart, then one line of settings.

    The medians are in --profile; the settings line is not a table caption so
    that it uses the terminal's width rather than the table's.
    """
    from rich.text import Text

    cols = ["cluster", "customers", "share %", *(["stability"] if "stability" in prof.columns else []),
            "distinctive (d)"]
    # One feature per line: a narrow terminal then never splits "arpu +2.1" in two.
    df = prof.with_columns((pl.col("share") * 100).alias("share %"),
                           pl.col("distinctive").str.replace_all(", ", "\n").alias(cols[-1]))
    logged = f" (log1p: {', '.join(params['log1p'])})" if params["log1p"] else ""
    sizes = (f"min cluster size {params['min_cluster_size']:,}" if "min_cluster_size" in params
             else f"k = {params['k']}")
    settings = (f"{stats['customers']:,} customers, {stats['clusters']} clusters, {stats['noise']:,} noise; "
                f"{params['algorithm']} fitted on {stats['fit_rows']:,}, {stats['assigned_rows']:,} assigned; "
                f"{sizes}; features: {', '.join(params['features'])}{logged}, scale {params['scale']}; "
                "d: standardised difference from all other customers")
    out = [frame_table(df.select(cols), title="Clusters", digits=2), Text(settings)]
    if "stability" in prof.columns:
        weak = prof.filter(pl.col("stability") < UNTRUSTED)
        if weak.height:
            names = ", ".join(str(c) for c in weak["cluster"].head(20))
            more = f" and {weak.height - 20:,} more" if weak.height > 20 else ""
            out.append(Text(f"warning: {weak.height:,} of {prof.filter(pl.col('cluster') >= 0).height:,} clusters "
                            f"below stability {UNTRUSTED} (Hennig): not trustworthy, do not act on them alone: "
                            f"{names}{more}", style="bold yellow"))
    return tuple(out)


#: Hennig's line: a cluster dissolved in bootstrap refits more often than this is not trustworthy.
UNTRUSTED = 0.6
