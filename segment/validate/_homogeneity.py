"""Are all the segments in two groups alike? Homogeneity tests from mergeable sums.

The merge map (:mod:`segment.validate._merging`) asks of two groups of segments
whether they may be merged. Comparing the two pooled groups would be
biased once groups are built by merging similar segments (merging sorts
segments by their noise, and the pooled groups then look different). So a
pair of groups is tested through the segments ("atoms") inside it: the test
that all of them are alike. For two single segments it is exactly the
pairwise test of :func:`segment.stats.tests.pairwise`:

* counts: the chi-square test of the atoms' rows of the contingency table;
* Kruskal-Wallis: Dunn's statistic generalised to m atoms,
  ``sum n_i (mean rank_i - mean rank)^2 / s2`` with the whole sample's ranks
  and tie-corrected variance ``s2``, chi-square with m - 1 df (m = 2 gives
  Dunn's z squared);
* ANOVA: the F test across the atoms (m = 2 gives Student's t squared);
* Welch: Welch's F across the atoms (m = 2 gives Welch's t squared).

Each is a function of sums over atoms, so a union of groups is the sum of the
groups' sums: testing every pair of groups costs O(pairs), not O(rows).

Examples
--------
>>> import numpy as np
>>> from segment.stats.groupstats import CountStats
>>> table = np.array([[30, 70], [35, 65], [60, 40]])
>>> h = Homogeneity(CountStats(table), "kruskal")
>>> h.add(0, 1)  # group 0 now holds atoms 0 and 1
>>> from scipy.stats import chi2_contingency
>>> bool(np.isclose(h.p(np.array([0]), np.array([2]))[0], chi2_contingency(table, correction=False).pvalue))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segment.stats.groupstats import CountStats, NumericStats
from segment.stats.tests import chi2_sf, pairwise


class Homogeneity:
    """Per-group sums of one outcome's atoms, and the union test between groups.

    Groups and atoms are indexed by original segment code; group ``g`` starts
    as the single atom ``g``. :meth:`add` joins two groups (their atoms stay
    apart); :meth:`absorb` pools atoms into one (a too-small segment folded
    into its neighbour stops counting as a segment of its own).
    """

    def __init__(self, stats: CountStats | NumericStats, numeric_test: str = "kruskal"):
        self.atoms = stats.copy()
        self.numeric_test = numeric_test
        self.kind = "counts" if isinstance(stats, CountStats) else numeric_test
        k = stats.n.size
        self.members = [[g] for g in range(k)]
        self.n_members = np.ones(k, dtype=np.int64)  # atoms per group
        self.first = np.arange(k)  # an atom of each group (the only one when n_members == 1)
        if isinstance(stats, NumericStats):
            total = stats.total
            self.s2 = total * (total + 1) / 12 - stats.tie_term / (12 * (total - 1)) if total > 1 else 0.0
            self.centre_rank = (total + 1) / 2
            n = stats.n
            self.grand = float(np.sum(n * np.nan_to_num(stats.mean)) / max(n.sum(), 1))
        self.sums = self._terms(np.arange(k))

    # ------------------------------------------------------------ structure
    def add(self, into: int, other: int) -> None:
        """Group *other* joins group *into*; atoms stay separate."""
        self.members[into] += self.members[other]
        self.members[other] = []
        self.n_members[into] += self.n_members[other]
        self.n_members[other] = 0
        for arr in self.sums.values():
            arr[into] += arr[other]
            arr[other] = 0

    def absorb(self, into: int, other: int, atom: int) -> None:
        """Group *other* joins group *into*, pooled into *into*'s atom *atom*."""
        for a in self.members[other]:
            self.atoms.merge(atom, a)
        self.members[other] = []
        self.n_members[other] = 0
        self._refresh(into)
        for arr in self.sums.values():
            arr[other] = 0

    def _refresh(self, g: int) -> None:
        terms = self._terms(np.array(self.members[g]))
        for name, arr in self.sums.items():
            arr[g] = terms[name].sum(axis=0)

    # ------------------------------------------------------------ terms
    def _terms(self, atoms: np.ndarray) -> dict[str, np.ndarray]:
        s = self.atoms
        n = s.n[atoms].astype(float)
        has = (n > 0).astype(float)
        safe = np.where(n > 0, n, 1.0)
        if isinstance(s, CountStats):
            counts = s.counts[atoms].astype(float)
            return {"sq": counts**2 / safe[:, None], "col": counts, "n": n, "atoms": has}
        if self.kind == "kruskal":
            dev = s.rank_sum[atoms] - n * self.centre_rank  # centred: no cancellation on large N
            return {"q": np.where(n > 0, dev**2 / safe, 0.0), "r": dev, "n": n, "atoms": has}
        d = np.where(n > 0, s.mean[atoms] - self.grand, 0.0)
        if self.kind == "anova":
            return {"sx": n * d, "sxx": n * d * d, "w": s.m2[atoms], "n": n, "atoms": has}
        with np.errstate(divide="ignore", invalid="ignore"):
            var = s.m2[atoms] / (n - 1)
            w = np.where((n > 1) & (var > 0), n / var, 0.0)
            inv = np.where(n > 1, 1 / (n - 1), 0.0)
        return {"w": w, "wx": w * d, "wxx": w * d * d, "s1": inv, "s2": w * inv, "s3": w * w * inv,
                "n": n, "atoms": has}

    # ------------------------------------------------------------ tests
    def p(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """p-value that all atoms of groups ``a[t]`` and ``b[t]`` are alike.

        NaN when untestable, and always when one of the two groups has no
        values of the outcome (see :meth:`shared`).
        """
        u = {name: arr[a] + arr[b] for name, arr in self.sums.items()}
        m = u["atoms"]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "counts":
                present = u["col"] > 0
                ratio = np.where(present, u["sq"] / np.where(present, u["col"], 1.0), 0.0)
                stat = np.maximum(u["n"] * ratio.sum(axis=1) - u["n"], 0.0)
                df = (m - 1) * (present.sum(axis=1) - 1)
                p = np.where(df > 0, chi2_sf(stat, np.maximum(df, 1)), 1.0)
            elif self.kind == "kruskal":
                stat = (u["q"] - u["r"] ** 2 / u["n"]) / self.s2
                p = chi2_sf(np.maximum(stat, 0.0), np.maximum(m - 1, 1))
            elif self.kind == "anova":
                p = _anova_p(u, m)
            else:
                p = _welch_p(u, m)
        # A group without values says nothing: the test would only compare the other group's atoms.
        p = np.where(self.shared(a, b), p, np.nan)
        return self._exact_pairs(a, b, p)

    def shared(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether groups ``a[t]`` and ``b[t]`` both hold values of this outcome."""
        has = self.sums["atoms"]
        return (has[a] > 0) & (has[b] > 0)

    def _exact_pairs(self, a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
        # Two single segments of a count outcome: the pairwise test itself, so that
        # Fisher's exact test for small 2 x 2 tables applies and the map agrees with --pairs.
        if self.kind != "counts":
            return p
        single = (self.size_of(a) == 1) & (self.size_of(b) == 1)
        if single.any():
            p = p.copy()
            p[single] = pairwise(self.atoms, self.first[a[single]], self.first[b[single]])[1]
        return p

    def size_of(self, groups: np.ndarray) -> np.ndarray:
        return self.n_members[groups]


def _anova_p(u: dict[str, np.ndarray], m: np.ndarray) -> np.ndarray:
    from scipy.special import fdtrc

    ssb = u["sxx"] - u["sx"] ** 2 / u["n"]
    df1, df2 = m - 1, u["n"] - m
    f = (ssb / np.maximum(df1, 1)) / (u["w"] / np.maximum(df2, 1))
    p = fdtrc(np.maximum(df1, 1), np.maximum(df2, 1), np.maximum(f, 0.0))
    p = np.where(u["w"] == 0, np.where(ssb > 0, 0.0, 1.0), p)
    return np.where(df2 > 0, p, np.nan)


def _welch_p(u: dict[str, np.ndarray], m: np.ndarray) -> np.ndarray:
    from scipy.special import fdtrc

    w = u["w"]
    a = (u["wxx"] - u["wx"] ** 2 / w) / np.maximum(m - 1, 1)
    tmp = u["s1"] - 2 * u["s2"] / w + u["s3"] / w**2
    b = 1 + 2 * (m - 2) / (m**2 - 1) * tmp
    f, df2 = a / b, (m**2 - 1) / (3 * tmp)
    return fdtrc(np.maximum(m - 1, 1), df2, np.maximum(f, 0.0))


def homogeneity_tests(stats: Sequence[CountStats | NumericStats], numeric_test: str) -> list[Homogeneity]:
    """One :class:`Homogeneity` per outcome."""
    return [Homogeneity(s, numeric_test) for s in stats]
