"""Process-wide settings for a running hub, applied once by ``sledhub serve`` / ``demo`` before any
thread starts (never at import: tests and tools that import the hub keep their interpreter as it is).

Measured by ``make bench`` (``bench/README.md``, "Last measured"):

- **GIL switch interval 1 ms** (Python's default is 5 ms). The hub is many I/O threads (MQTT, the
  pipeline, two per Socket.IO client); a thread woken by its socket waits for the GIL up to the
  switch interval while another thread computes, and that wait lands on a finish's way to the wall.

Set where the process is launched, not here (glibc reads it before Python starts):

- **At most 2 malloc arenas**: ``MALLOC_ARENA_MAX=2`` in the environment (``systemd/sledhub.service``,
  ``make demo``, the bench's hub). glibc's default is 8 per CPU: every thread that allocates gets an
  arena of its own; with two threads per wall display that is dozens of half-empty arenas, several MB
  of resident memory on a Pi for no speed we can measure.

Installed, not hidden: python-socketio imports its *client* as well, and the client imports
``requests`` and ``websocket`` (websocket-client) whenever they are importable (5.6 MB resident the
hub never uses). A hub's own install (``pip install sledhub[hub]``, ``scripts/install-pi.sh --hub``
in a venv without the system's site-packages) has neither; only the test extras bring them.
"""

from __future__ import annotations

import os
import sys

SWITCH_INTERVAL_S = 0.001
MALLOC_ARENAS = 2
ARENA_ENV = "MALLOC_ARENA_MAX"


def launch_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``MALLOC_ARENA_MAX`` set for a hub child
    process, unless it is set already."""
    env = dict(os.environ if base is None else base)
    env.setdefault(ARENA_ENV, str(MALLOC_ARENAS))
    return env


def tune_process() -> dict[str, object]:
    """Apply the switch interval, before the hub starts its threads; returns what is in force (for
    the log): the switch interval (s) and ``MALLOC_ARENA_MAX`` as launched (None when unset)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return {"switch_interval_s": SWITCH_INTERVAL_S, "malloc_arena_max": os.environ.get(ARENA_ENV)}
