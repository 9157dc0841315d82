"""Tests of the Dask back-end of the runner against a real LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dask import distributed

from kamsim.experiments import run_experiment


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real two-process Dask cluster, one thread per worker."""
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as c:
        yield c


def _same(a: Any, b: Any) -> None:
    for kind in ("runs", "quarters", "accounts"):
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind), check_exact=True)


def test_dask_cluster_equals_local(
    cluster: Any, tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """Units run on a Dask LocalCluster give exactly the in-process results."""
    local = run_experiment(tiny_spec, workers=1, quiet=True)
    remote = run_experiment(tiny_spec, out=tmp_path, scheduler=cluster, quiet=True)
    _same(local, remote)
    assert remote.meta["sessions"][-1]["backend"] == "dask"
    assert remote.meta["sessions"][-1]["units_run"] == 8


def test_dask_by_address_and_client(cluster: Any, tiny_spec: dict[str, Any]) -> None:
    """The scheduler may be given as an address string or as a Client; same numbers."""
    local = run_experiment(tiny_spec, workers=1, quiet=True)
    by_address = run_experiment(tiny_spec, scheduler=cluster.scheduler_address, quiet=True)
    _same(local, by_address)
    with distributed.Client(cluster) as client:
        by_client = run_experiment(tiny_spec, scheduler=client, quiet=True)
        assert client.status == "running"  # a caller's client is not closed
    _same(local, by_client)


def test_dask_resume_after_lost_units(
    cluster: Any, tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """A Dask run resumes a locally started folder and completes it identically."""
    first = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    for f in list((tmp_path / "tiny" / "quarters").glob("cell0002-*.parquet")):
        f.unlink()
    again = run_experiment(tiny_spec, out=tmp_path, scheduler=cluster, quiet=True)
    _same(first, again)
    assert again.meta["sessions"][-1]["units_run"] == 2
