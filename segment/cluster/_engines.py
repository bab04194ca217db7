"""The two clustering engines behind ``segment cluster``, with one interface.

Both follow scikit-learn manners: parameters in ``__init__``, checks in
``fit``, learned attributes ending in ``_``. After ``fit(X)`` an engine has
``labels_`` (-1 = noise), ``probabilities_`` and ``outlier_scores_`` for the
fitted rows, and ``assign(points)`` gives the same three for other rows.

:class:`HDBSCANEngine`
    hdbscan with the Boruvka KD-tree and a small ``min_samples`` (memory
    grows with ``min_samples``, not with ``min_cluster_size``); new rows go
    through :class:`~segment.cluster._assign.TreeAssigner`.
:class:`KMeansEngine`
    scikit-learn's k-means for a fixed number of groups. Every customer
    belongs to a group with probability 1; the outlier score is the share
    of the group's fitted members that lie closer to its centre.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> X = np.vstack([rng.normal(0, 0.2, (100, 2)), rng.normal(3, 0.2, (60, 2))])
>>> engine = HDBSCANEngine(min_cluster_size=20, min_samples=5).fit(X)
>>> sorted(np.bincount(engine.labels_[engine.labels_ >= 0]).tolist())
[60, 100]
>>> km = KMeansEngine(k=2, seed=0).fit(X)
>>> labels, prob, outlier = km.assign(np.array([[0.0, 0.0], [3.0, 3.0]]))
>>> labels[0] != labels[1], prob.tolist()
(np.True_, [1.0, 1.0])
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable

import numpy as np

from segment.errors import DataError, OptionError

Progress = Callable[[str, int, int | None], None]


class _StableSortNumpy(types.ModuleType):
    """numpy, except that ``argsort`` is stable unless told otherwise."""

    def __getattr__(self, name: str):
        return getattr(np, name)

    @staticmethod
    def argsort(a, axis=-1, kind=None, order=None, **kwargs):
        return np.argsort(a, axis=axis, kind=kind or "stable", order=order, **kwargs)


def _stable_hdbscan():
    """hdbscan, made to order its minimum-spanning-tree edges the same way on every CPU.

    hdbscan sorts the tree's edges by weight with ``np.argsort`` (quicksort).
    numpy dispatches that to AVX-512 or AVX2 sorting networks by CPU, and they
    leave equal weights in different orders. Mutual-reachability weights tie
    often (many edges take one point's core distance), so the tree and a few
    borderline labels changed from one machine to another. A stable sort
    orders ties by position, the same everywhere. pyproject caps hdbscan
    below 0.9 because this reaches into its module; tests/test_cross_cpu.py
    fails if the labels start to depend on the CPU again.
    """
    import hdbscan
    import hdbscan.hdbscan_ as core

    if not isinstance(core.np, _StableSortNumpy):
        core.np = _StableSortNumpy("numpy")
    return hdbscan


class HDBSCANEngine:
    """hdbscan, fitted with the Boruvka KD-tree.

    Parameters
    ----------
    min_cluster_size : int
        Smallest group (in fitted rows) that counts as a cluster.
    min_samples : int
        Neighbours that define a point's core distance; small values keep
        memory bounded and leave fewer customers as noise.
    selection : {"eom", "leaf"}
        hdbscan's ``cluster_selection_method``.
    epsilon : float
        hdbscan's ``cluster_selection_epsilon`` (in scaled feature units).
    """

    name = "hdbscan"

    def __init__(self, min_cluster_size: int = 30, min_samples: int = 10, selection: str = "eom",
                 epsilon: float = 0.0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.selection = selection
        self.epsilon = epsilon

    def clone(self, seed: int | None = None) -> HDBSCANEngine:
        return HDBSCANEngine(self.min_cluster_size, self.min_samples, self.selection, self.epsilon)

    def fit(self, X: np.ndarray) -> HDBSCANEngine:
        hdbscan = _stable_hdbscan()
        check_hdbscan_options(self.min_cluster_size, self.min_samples, self.selection, self.epsilon)
        n = X.shape[0]
        if n <= self.min_samples:
            raise DataError(f"only {n:,} customers to fit, but --min-samples is {self.min_samples}; "
                            "lower --min-samples")
        self.X_ = np.ascontiguousarray(X, dtype=np.float64)
        with warnings.catch_warnings():
            # hdbscan passes deprecated arguments to scikit-learn; not the user's business.
            warnings.simplefilter("ignore")
            model = hdbscan.HDBSCAN(
                min_cluster_size=self.min_cluster_size, min_samples=self.min_samples,
                cluster_selection_method=self.selection, cluster_selection_epsilon=self.epsilon,
                algorithm="boruvka_kdtree", core_dist_n_jobs=1,
            ).fit(self.X_)
            outlier = np.nan_to_num(np.asarray(model.outlier_scores_, dtype=np.float64), nan=0.0)
        self.model_ = model
        self.labels_ = model.labels_.astype(np.int64)
        self.probabilities_ = np.asarray(model.probabilities_, dtype=np.float64)
        self.outlier_scores_ = np.clip(outlier, 0.0, 1.0)
        self._assigner = None
        return self

    @property
    def assigner(self):
        from segment.cluster._assign import TreeAssigner

        if self._assigner is None:
            self._assigner = TreeAssigner(self.model_, self.X_, self.labels_)
        return self._assigner

    def assign(self, points: np.ndarray, progress: Progress | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.assigner.assign(points, progress)

    def nearest_cluster(self, points: np.ndarray) -> np.ndarray:
        return self.assigner.nearest_cluster(points)


class KMeansEngine:
    """scikit-learn k-means with a fixed number of groups.

    Parameters
    ----------
    k : int
        Number of groups (2 or more).
    seed : int
        Seed for the k-means++ starts (10 starts, best inertia kept).
    """

    name = "kmeans"

    def __init__(self, k: int = 5, seed: int = 0):
        self.k = k
        self.seed = seed

    def clone(self, seed: int | None = None) -> KMeansEngine:
        return KMeansEngine(self.k, self.seed if seed is None else seed)

    def fit(self, X: np.ndarray) -> KMeansEngine:
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        if self.k is None or self.k < 2:
            raise OptionError(f"--k must be 2 or more for --algorithm kmeans, got {self.k}")
        if X.shape[0] < self.k:
            raise DataError(f"only {X.shape[0]:,} customers, fewer than --k {self.k}; lower --k")
        # One thread: on a busy machine OpenMP's spinning workers made k-means
        # 20-50 times slower (measured), and one thread is reproducible.
        with threadpool_limits(1):
            model = KMeans(n_clusters=self.k, n_init=10, random_state=self.seed).fit(X)
        self.centers_ = model.cluster_centers_
        self.labels_, dist = self._nearest(X)
        # Distances of fitted members, per group, sorted: the outlier scale.
        self._spread = [np.sort(dist[self.labels_ == c]) for c in range(self.k)]
        self.probabilities_ = np.ones(X.shape[0])
        self.outlier_scores_ = self._score(self.labels_, dist)
        return self

    def _nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2 keeps the temporary at rows x k.
        d2 = (points ** 2).sum(axis=1)[:, None] - 2 * points @ self.centers_.T + (self.centers_ ** 2).sum(axis=1)
        labels = d2.argmin(axis=1)
        return labels.astype(np.int64), np.sqrt(np.maximum(d2[np.arange(points.shape[0]), labels], 0.0))

    def _score(self, labels: np.ndarray, dist: np.ndarray) -> np.ndarray:
        out = np.zeros(labels.shape[0])
        for c, ref in enumerate(self._spread):
            mine = labels == c
            if ref.size:
                out[mine] = np.searchsorted(ref, dist[mine], side="left") / ref.size
        return out

    def assign(self, points: np.ndarray, progress: Progress | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total = points.shape[0]
        labels = np.empty(total, dtype=np.int64)
        dist = np.empty(total)
        step = 100_000
        for start in range(0, total, step):
            stop = min(start + step, total)
            labels[start:stop], dist[start:stop] = self._nearest(points[start:stop])
            if progress:
                progress("assign", stop, total)
        return labels, np.ones(total), self._score(labels, dist)

    def nearest_cluster(self, points: np.ndarray) -> np.ndarray:
        return self.assign(points)[0]


def check_hdbscan_options(min_cluster_size: int, min_samples: int, selection: str, epsilon: float) -> None:
    if min_cluster_size < 2:
        raise OptionError(f"--min-size must be 2 or more, got {min_cluster_size}")
    if min_samples < 1:
        raise OptionError(f"--min-samples must be 1 or more, got {min_samples}")
    if selection not in ("eom", "leaf"):
        raise OptionError(f"--selection must be eom or leaf, got {selection!r}")
    if not epsilon >= 0:
        raise OptionError(f"--epsilon must be 0 or more, got {epsilon}")
