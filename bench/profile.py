"""Profiling the hub process with py-spy (``python -m bench.run --profile``).

py-spy samples the running hub from outside (``--nonblocking``: the hub is never paused), only the
thread holding the GIL (``--gil``: where the hub's CPU goes, not where its threads wait), and writes
collapsed stacks (``--format raw --threads``: ``thread (tid): name;frame;… count``).
:func:`summarize` turns them into the top of the profile: samples per thread, and the functions with
the most self and inclusive time. py-spy is only in sledhub's optional ``profile`` extra, which
``make bench-profile`` installs; without it the bench runs unprofiled and says so.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")


def py_spy() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy attached to ``pid`` until :meth:`stop` (or for ``duration_s``); writes ``out``."""

    def __init__(self, pid: int, out: Path, duration_s: float | None = None, rate_hz: int = 100):
        self.out = out
        binary = py_spy()
        self.proc: subprocess.Popen | None = None
        self.error: str | None = None if binary else "py-spy is not installed (make bench-profile installs it)"
        if binary:
            cmd = [binary, "record", "--pid", str(pid), "--rate", str(rate_hz), "--format", "raw", "--threads",
                   "--nonblocking", "--gil", "--output", str(out)]
            if duration_s:
                cmd += ["--duration", str(max(1, round(duration_s)))]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL)

    def stop(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Stop sampling (SIGINT makes py-spy write what it has) and summarise."""
        if self.proc is None:
            return {"error": self.error}
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.out.exists():
            return {"error": f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"}
        return summarize(self.out.read_text(encoding="utf-8"))


def _function(frame: str) -> str:
    """``name (file.py:123)`` → ``name (file.py)``: one entry per function, not per line."""
    return _LINE.sub(")", frame.strip())


def summarize(collapsed: str, top: int = 15) -> dict[str, Any]:
    threads: Counter = Counter()
    self_time: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        head, _, rest = stack.partition(";")
        thread = head.split(": ", 1)[-1] if head.startswith("thread") else head
        threads[re.sub(r"[-_ ]?\d+$", "", thread)] += n
        frames = [_function(f) for f in rest.split(";") if f] if head.startswith("thread") else \
            [_function(f) for f in stack.split(";")]
        if frames:
            self_time[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n

    def pct(c: Counter) -> list[list]:
        return [[name, round(100 * n / total, 1)] for name, n in c.most_common(top)]

    return {"samples": total, "threads_pct": pct(threads), "self_pct": pct(self_time),
            "inclusive_pct": pct(inclusive)}
