"""Statistics shared by the commands: tests, corrections, tails, group sums.

Modules here are public to every command package:

* :mod:`segment.stats.groupstats`: per-segment sufficient statistics;
* :mod:`segment.stats.tests`: omnibus and pairwise tests, effect sizes;
* :mod:`segment.stats.multitest`: multiple-testing corrections;
* :mod:`segment.stats.hypergeom`: hypergeometric upper tails, Fisher's exact test;
* :mod:`segment.stats.pvalue`: how a p-value is written for people;
* :mod:`segment.stats.survival`: Kaplan-Meier curves, median lifetime, log-rank tests.
"""
