"""Each xdist worker runs its thread pools at its share of the cores (see conftest)."""

from __future__ import annotations

import os

import polars as pl
import pytest


@pytest.mark.skipif("PYTEST_XDIST_WORKER_COUNT" not in os.environ, reason="runs under pytest -n only")
def test_polars_pool_is_this_workers_share_of_the_cores():
    workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    cores = len(os.sched_getaffinity(0))
    assert pl.thread_pool_size() == max(1, cores // workers)


def test_blas_pools_follow_the_limit():
    from threadpoolctl import threadpool_info

    limit = int(os.environ["OPENBLAS_NUM_THREADS"])
    assert all(pool["num_threads"] <= limit for pool in threadpool_info() if pool["user_api"] == "blas")
