"""Process-wide settings for a running hub, applied once by ``sledhub serve`` / ``demo`` before any
thread starts (never at import: tests and tools that import the hub keep their interpreter as it is).

Measured by ``make bench`` (``bench/README.md``, "Last measured"):

- **GIL switch interval 1 ms** (Python's default is 5 ms). The hub is a few threads that wait on
  sockets (paho's network loop, the pipeline, the serving thread with every page's greenlet,
  ``server/web/serving.py``); a thread woken by its socket waits for the GIL up to the switch interval
  while another thread computes, and that wait lands on a finish's way to the wall.
- **Open files: the soft limit raised to the hard one** (at most :data:`OPEN_FILES`). Every page,
  request and half-open client is a socket; systemd's and most shells' soft limit is 1,024, which 1,000
  half-open connections (tests/faults) and a classful of pages would pass, and then the hub could not
  accept anyone.

Set where the process is launched, not here (glibc reads it before Python starts):

- **At most 2 malloc arenas**: ``MALLOC_ARENA_MAX=2`` in the environment (``systemd/sledhub.service``,
  ``make demo``, the bench's hub). glibc's default is 8 per CPU: every thread that allocates gets an
  arena of its own; with two threads per wall display that is dozens of half-empty arenas, several MB
  of resident memory on a Pi for no speed we can measure.
- **Blocks of 64 KiB and more from mmap, always**: ``MALLOC_MMAP_THRESHOLD_=65536`` (same places).
  glibc starts at 128 KiB and raises the threshold each time such a block is freed. The hub's MQTT
  socket reads up to 64 KiB at a time (``server/mqtt/buffered_socket.py``) and keeps the bytes until
  paho has taken them; from the heap, those short-lived blocks, shrunk and interleaved with
  long-lived ones, left free holes glibc never gave back: the demo grew by 4.7 MB in 30 minutes
  instead of 1.7 (``make soak``, ``bench/README.md``). From mmap they go back to the system when freed.

Installed, not hidden: python-socketio imports its *client* as well, and the client imports
``requests`` and ``websocket`` (websocket-client) whenever they are importable (5.6 MB resident the
hub never uses). A hub's own install (``pip install sledhub[hub]``, ``scripts/install-pi.sh --hub``
in a venv without the system's site-packages) has neither; only the test extras bring them.
"""

from __future__ import annotations

import os
import resource
import sys

SWITCH_INTERVAL_S = 0.001
MALLOC_ARENAS = 2
ARENA_ENV = "MALLOC_ARENA_MAX"
MALLOC_MMAP_THRESHOLD = 64 * 1024  # bytes
MMAP_ENV = "MALLOC_MMAP_THRESHOLD_"
OPEN_FILES = 16384
"""The open-files soft limit the hub asks for (capped by the hard limit)."""
LAUNCH_ENV = {ARENA_ENV: str(MALLOC_ARENAS), MMAP_ENV: str(MALLOC_MMAP_THRESHOLD)}
"""What a hub process is launched with (the systemd unit and ``make demo`` write the same)."""


def launch_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with :data:`LAUNCH_ENV` set for a hub child
    process, each unless it is set already."""
    env = dict(os.environ if base is None else base)
    for key, value in LAUNCH_ENV.items():
        env.setdefault(key, value)
    return env


def raise_open_files_limit(wanted: int = OPEN_FILES) -> int:
    """Raise the soft limit on open files to ``wanted`` (at most the hard limit; never lowered);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def tune_process() -> dict[str, object]:
    """Apply the switch interval and the open-files limit, before the hub starts its threads; returns
    what is in force (for the log): the switch interval (s), the open-files soft limit and the malloc
    settings as launched (None when unset)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return {"switch_interval_s": SWITCH_INTERVAL_S, "open_files": raise_open_files_limit(),
            "malloc_arena_max": os.environ.get(ARENA_ENV), "malloc_mmap_threshold": os.environ.get(MMAP_ENV)}
