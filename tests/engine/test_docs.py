"""The worked example in docs/timing.md runs (docs that run)."""

from __future__ import annotations

import doctest
from pathlib import Path

TIMING_MD = Path(__file__).resolve().parents[2] / "docs" / "timing.md"


def test_timing_doc_examples_run():
    failures, tried = doctest.testfile(str(TIMING_MD), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 5 and failures == 0
