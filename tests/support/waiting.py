"""Wait on a condition with a timeout: the only way tests here wait for something to happen."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout_s: float = 5.0, interval_s: float = 0.01, what: str = "") -> T:
    """Poll ``predicate`` until it returns a truthy value and return it; fail the test on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate!r}")
        time.sleep(interval_s)
