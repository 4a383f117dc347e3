"""Fixtures shared across the test suite."""

from __future__ import annotations

import logging
import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray (2 CPUs, no dashboard) for the whole session: ``ray.init`` costs 5–8 s.

    A Ray already running in the process is reused and left running."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_worker_niceness", "0")  # as rlsuite.cluster.connect does
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()
