"""The bench runs its helpers as ``spawn`` processes, whose queues need multiprocessing's resource
tracker: a process that lives as long as the test session. Start it before the per-test leak check
looks at this process's children, so it is not taken for a process a test leaked."""

from __future__ import annotations

from multiprocessing import resource_tracker

import pytest


@pytest.fixture(scope="module", autouse=True)
def resource_tracker_running():
    resource_tracker.ensure_running()
    yield
