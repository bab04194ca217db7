"""Is a longer rule worth more than the shorter rules inside it?

For a rule X -> C, every non-empty proper subset Y of X gives a more general
rule Y -> C (it covers everybody X covers, and more). Two tests:

redundant (the default filter)
    Some generalisation is at least as confident:
    ``n(Y and C) / n(Y) >= n(X and C) / n(X)`` for a non-empty ``Y`` in X,
    compared exactly in integers. Adding the extra items to Y does not raise
    the target rate, so X says nothing that Y does not.
productive (Webb 2007, "Discovering significant patterns")
    X is significantly more confident than every generalisation, the empty
    one included. For each ``Y`` (and ``Y = {}``, everybody), Fisher's exact
    test compares the customers of Y who hold all of X with those of Y who
    do not; ``p_productive`` is the largest of these p-values, so it is
    small only when X beats each of its generalisations. For one-item rules
    it is the rule's own p-value.

Every generalisation of a mined rule is itself mined, since its support can
only be larger, so all the counts are at hand.

Examples
--------
>>> import numpy as np
>>> sets = np.array([[0, -1], [0, 1], [1, -1]])
>>> red, p_prod = judge(sets, n_rule=np.array([30, 20, 25]), n_antecedent=np.array([60, 30, 60]),
...                     p_value=np.array([0.01, 0.001, 0.2]))
>>> red.tolist()
[False, False, False]
>>> red, _ = judge(sets, n_rule=np.array([30, 14, 25]), n_antecedent=np.array([60, 30, 60]),
...                p_value=np.array([0.01, 0.3, 0.2]))
>>> red.tolist()
[False, True, False]
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from segment.stats.hypergeom import fisher_greater


def judge(itemsets: np.ndarray, *, n_rule: np.ndarray, n_antecedent: np.ndarray,
          p_value: np.ndarray, wanted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(redundant, p_productive)`` for rules of one consequent.

    *itemsets* holds sorted item indices padded with -1 (one rule per row,
    all its generalisations among the rows). ``p_productive`` is computed
    for the rules in the boolean mask *wanted* (default all) and is 1 for
    the others.
    """
    redundant = np.zeros(itemsets.shape[0], dtype=bool)
    p_productive = np.asarray(p_value, dtype=np.float64).copy()
    if wanted is not None:
        p_productive[~wanted] = 1.0
    owner, general = generalisations(itemsets)
    if owner.size == 0:
        return redundant, p_productive
    k_x, n_x = n_rule[owner], n_antecedent[owner]
    k_y, n_y = n_rule[general], n_antecedent[general]
    at_least_as_good = k_y * n_x >= k_x * n_y
    redundant[np.unique(owner[at_least_as_good])] = True
    # Within Y's customers: does holding the rest of X raise the target rate?
    # (Exact tests are the slow part, so only where the answer is used.)
    use = np.ones(owner.size, dtype=bool) if wanted is None else wanted[owner]
    p_vs_y = fisher_greater(k_x[use], n_x[use], k_y[use], n_y[use])
    np.maximum.at(p_productive, owner[use], p_vs_y)
    return redundant, p_productive


def generalisations(itemsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(rule row, row of a non-empty proper subset of it)``."""
    width = itemsets.shape[1]
    lengths = (itemsets >= 0).sum(axis=1)
    queries: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for k in range(2, width + 1):
        rows = np.flatnonzero(lengths == k)
        if rows.size == 0:
            continue
        full = itemsets[rows, :k]
        for size in range(1, k):
            for keep in combinations(range(k), size):
                q = np.full((rows.size, width), -1, dtype=itemsets.dtype)
                q[:, :size] = full[:, keep]
                queries.append(q)
                owners.append(rows)
    if not queries:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    query = np.vstack(queries)
    owner = np.concatenate(owners)
    general = _find_rows(itemsets, query)
    if (general < 0).any():  # pragma: no cover - anti-monotone support makes this impossible
        raise AssertionError("a generalisation of a mined rule was not mined")
    return owner, general


def _find_rows(table: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index in *table* (unique rows) of each row of *query*, -1 when absent."""
    base = int(max(table.max(initial=-1), query.max(initial=-1))) + 2
    width = table.shape[1]
    if base ** width < 2 ** 62:
        # Rows as integers in base `base` (padding -1 is digit 0): one sort, then binary search.
        powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
        keys = (table.astype(np.int64) + 1) @ powers
        wanted = (query.astype(np.int64) + 1) @ powers
        order = np.argsort(keys, kind="stable")
        at = np.searchsorted(keys[order], wanted)
        at = np.minimum(at, keys.size - 1)
        found = keys[order][at] == wanted
        return np.where(found, order[at], -1)
    both = np.vstack([table, query])
    _, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    where = np.full(inverse.max() + 1, -1, dtype=np.int64)
    where[inverse[: table.shape[0]]] = np.arange(table.shape[0])
    return where[inverse[table.shape[0]:]]
