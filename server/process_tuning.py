"""Process-wide settings for a running hub, applied once by ``sledhub serve`` / ``demo`` before any
thread starts (never at import: tests and tools that import the hub keep their interpreter as it is).

Both are measured by ``make bench`` (``bench/README.md``, "Last measured"):

- **GIL switch interval 1 ms** (Python's default is 5 ms). The hub is many I/O threads (MQTT, the
  pipeline, two per Socket.IO client); a thread woken by its socket waits for the GIL up to the
  switch interval while another thread computes, and that wait lands on a finish's way to the wall.
- **At most 2 malloc arenas** (glibc's default is 8 per CPU). Every thread that allocates gets an
  arena of its own; with two threads per wall display that is dozens of half-empty arenas, several MB
  of resident memory on a Pi for no speed we can measure. The same as ``MALLOC_ARENA_MAX=2``.
- **Blocks of 64 KiB and more from mmap, always** (glibc starts at 128 KiB and raises the threshold
  each time such a block is freed). The hub's MQTT socket reads up to 64 KiB at a time
  (``server/mqtt_socket.py``) and keeps the bytes until paho has taken them; from the heap, those
  short-lived blocks, shrunk and interleaved with long-lived ones, left free holes glibc never gave
  back: the demo grew by 4.7 MB in 30 minutes instead of 1.7 (``make soak``, ``bench/README.md``).
  From mmap they go back to the system when freed. The same as ``MALLOC_MMAP_THRESHOLD_=65536``.
- **No HTTP client libraries.** python-socketio's package imports its *client* as well, and the
  client imports ``requests`` and ``websocket`` (websocket-client) whenever they are installed (the
  test extras install them; Raspberry Pi OS often ships ``python3-requests``): 5.6 MB resident the
  hub never uses. Marking them absent before the hub's imports leaves them unloaded (the client
  would fall back to the standard library; the hub has no client).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001
MALLOC_ARENAS = 2
MALLOC_MMAP_THRESHOLD = 64 * 1024  # bytes
_M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
UNUSED_CLIENT_MODULES = ("requests", "websocket")


def tune_process() -> dict[str, object]:
    """Apply the settings above, before the hub's imports; returns what was applied (for the log).
    Safe on non-glibc systems."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    skipped = [name for name in UNUSED_CLIENT_MODULES if name not in sys.modules]
    for name in skipped:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" now raises ImportError
    applied: dict[str, object] = {"switch_interval_s": SWITCH_INTERVAL_S, "malloc_arenas": None,
                                  "malloc_mmap_threshold": None, "modules_not_loaded": skipped}
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            if libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS) == 1:
                applied["malloc_arenas"] = MALLOC_ARENAS
            if libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD) == 1:
                applied["malloc_mmap_threshold"] = MALLOC_MMAP_THRESHOLD
        except (OSError, AttributeError):  # not glibc (e.g. musl): keep the allocator's default
            log.debug("mallopt unavailable; malloc arenas left as they are")
    return applied
