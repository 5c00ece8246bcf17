"""Helpers shared by the setup tests."""

from __future__ import annotations

import pytest

from server.protocol import make_command


def hub_sends_calibration_values() -> bool:
    """True when the hub's command check accepts ``calibrate`` with the values it measured
    (``scale_counts_per_n``, ``offset_counts``, ``counts_per_m``, ``invert``), as ``firmware_bridge`` does."""
    try:
        make_command("n", "calibrate", "s", {"offset_counts": 0.0, "scale_counts_per_n": 1.0})
    except ValueError:
        return False
    return True


needs_direct_calibrate = pytest.mark.skipif(
    not hub_sends_calibration_values(),
    reason="the hub's protocol check refuses 'calibrate' with measured values (scale_counts_per_n, offset_counts, "
           "counts_per_m, invert), which firmware_bridge applies: server/protocol/commands.py and cmd.json need them")
