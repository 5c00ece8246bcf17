"""``make soak``: run the demo (``sledhub demo``: hub, managed Mosquitto, 2 simulated sleds, 2 simulated
lanes, the demo class) for a set time and watch its resources, to show it can run for days.

The demo is one process (the hub and the simulated nodes share it); its Mosquitto is its child. Every
``interval_s`` the soak samples the demo process: resident memory (RSS, MB), CPU (% of one core since the
previous sample), threads, open file descriptors, the SQLite database's size on disk (MB, the file plus
its ``-wal`` and ``-shm``) and the broker's RSS (MB). It prints a table as it goes and writes every
sample and a summary to ``bench/out/soak.json``.

Memory growth is judged after a warm-up (imports, caches, the first class rounds):
``rss_growth_mb`` is the least-squares slope of RSS over the measured samples times the measured span
(robust to the allocator's ups and downs, unlike last-minus-first), ``rss_growth_mb_per_h`` the same
slope per hour. The target: growth < 2 MB over 30 min (``--max-growth-mb``; exit status 1 if exceeded).

    .venv/bin/python -m bench.soak --seconds 1800          # what ``make soak`` runs (SOAK_S=…)
    .venv/bin/python -m bench.soak --seconds 60 --warmup 20 --interval 2
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Callable

import psutil

from server.mqtt.broker import free_port
from server.process_tuning import launch_env

MB = 2**20
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "soak.json"
Log = Callable[[str], None]


def _say(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Sample:
    """One look at the demo process, ``t_s`` seconds after it was healthy."""

    t_s: float
    rss_mb: float
    cpu_pct: float
    threads: int
    open_fds: int
    db_mb: float
    broker_rss_mb: float
    messages_accepted: int


class DemoProcess:
    """``sledhub demo`` on a free loopback port with its database in ``workdir``; ``stop()`` ends it
    (SIGTERM, which ``sledhub`` handles like Ctrl-C: the demo stops its nodes and its broker) and
    waits. Not SIGINT: a soak started in the background (``make soak &``, nohup) inherits SIGINT as
    ignored, and so would the demo."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.db_path = workdir / "demo.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Spawn the demo and wait until its broker is connected and its 4 nodes are online."""
        self._log = open(self.workdir / "demo.log", "wb")  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, "-m", "server.cli", "demo", "--db", str(self.db_path), "--port", str(self.port),
               "--host", "127.0.0.1"]
        # launched as `make demo` and the systemd unit launch the hub (malloc settings in the environment)
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=launch_env())
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the demo exited with {self.proc.returncode}: see {self.workdir}/demo.log")
            health = self.health()
            if health and health.get("broker_connected") and health.get("nodes_online") == 4:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the demo was not up with 4 nodes within {timeout_s} s: see {self.workdir}/demo.log")

    def health(self) -> dict | None:
        """``GET /api/health``, or None if the demo does not answer (yet)."""
        try:
            with urllib.request.urlopen(self.url + "/api/health", timeout=5) as reply:
                return json.loads(reply.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Stop the demo (SIGTERM) and wait (SIGKILL after ``timeout_s``); returns its exit status."""
        proc, self.proc = self.proc, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


def _db_size_mb(db_path: Path) -> float:
    files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / MB


def _children_rss_mb(proc: psutil.Process) -> float:
    total = 0
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total / MB


class Sampler:
    """Takes :class:`Sample` s of one demo process; CPU is measured between consecutive samples."""

    def __init__(self, demo: DemoProcess, clock: Callable[[], float] = time.monotonic):
        self.demo = demo
        self.proc = psutil.Process(demo.pid)
        self.clock = clock
        self.t0 = clock()
        self._last_cpu = self._cpu_s()
        self._last_t = self.t0

    def _cpu_s(self) -> float:
        times = self.proc.cpu_times()
        return times.user + times.system

    def take(self) -> Sample:
        now, cpu = self.clock(), self._cpu_s()
        cpu_pct = 100.0 * (cpu - self._last_cpu) / max(1e-9, now - self._last_t)
        self._last_cpu, self._last_t = cpu, now
        health = self.demo.health() or {}
        with self.proc.oneshot():
            rss, threads, fds = self.proc.memory_info().rss, self.proc.num_threads(), self.proc.num_fds()
        return Sample(t_s=round(now - self.t0, 2), rss_mb=round(rss / MB, 2), cpu_pct=round(cpu_pct, 1),
                      threads=threads, open_fds=fds, db_mb=round(_db_size_mb(self.demo.db_path), 3),
                      broker_rss_mb=round(_children_rss_mb(self.proc), 2),
                      messages_accepted=int(health.get("messages_accepted", -1)))


def slope_per_s(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(t_s, value)`` points (value per second); 0 for fewer than 2 points."""
    if len(points) < 2:
        return 0.0
    ts = [t for t, _ in points]
    mean_t, mean_v = statistics.fmean(ts), statistics.fmean(v for _, v in points)
    var_t = sum((t - mean_t) ** 2 for t in ts)
    if var_t == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var_t


def summarize(samples: list[Sample], warmup_s: float) -> dict:
    """Growth of every measure over the samples after ``warmup_s`` (see the module doc)."""
    measured = [s for s in samples if s.t_s >= warmup_s]
    if len(measured) < 2:
        raise ValueError(f"need at least 2 samples after the {warmup_s} s warm-up, got {len(measured)}")
    span_s = measured[-1].t_s - measured[0].t_s
    rss_slope = slope_per_s([(s.t_s, s.rss_mb) for s in measured])
    msgs_slope = slope_per_s([(s.t_s, s.messages_accepted) for s in measured])
    return {
        "warmup_s": warmup_s,
        "measured_s": round(span_s, 1),
        "samples": len(measured),
        "rss_mb_start": measured[0].rss_mb,
        "rss_mb_end": measured[-1].rss_mb,
        "rss_mb_min": min(s.rss_mb for s in measured),
        "rss_mb_max": max(s.rss_mb for s in measured),
        "rss_growth_mb": round(rss_slope * span_s, 2),
        "rss_growth_mb_per_h": round(rss_slope * 3600, 2),
        "cpu_pct_mean": round(statistics.fmean(s.cpu_pct for s in measured), 1),
        "threads_min": min(s.threads for s in measured),
        "threads_max": max(s.threads for s in measured),
        "open_fds_min": min(s.open_fds for s in measured),
        "open_fds_max": max(s.open_fds for s in measured),
        "db_mb_start": measured[0].db_mb,
        "db_mb_end": measured[-1].db_mb,
        "broker_rss_mb_start": measured[0].broker_rss_mb,
        "broker_rss_mb_end": measured[-1].broker_rss_mb,
        "messages_per_s": round(msgs_slope, 1),
    }


COLUMNS = (("t_s", "t (s)", "{:>7.0f}"), ("rss_mb", "RSS MB", "{:>7.1f}"), ("cpu_pct", "CPU %", "{:>6.1f}"),
           ("threads", "thr", "{:>4d}"), ("open_fds", "fds", "{:>4d}"), ("db_mb", "db MB", "{:>7.2f}"),
           ("broker_rss_mb", "mqtt MB", "{:>7.1f}"), ("messages_accepted", "msgs", "{:>9d}"))


def table_header() -> str:
    return " ".join(f"{title:>{len(fmt.format(0))}}" for _, title, fmt in COLUMNS)


def table_row(sample: Sample) -> str:
    return " ".join(fmt.format(getattr(sample, key)) for key, _, fmt in COLUMNS)


def run_soak(duration_s: float, *, interval_s: float = 10.0, warmup_s: float = 120.0, workdir: Path,
             log: Log = _say) -> dict:
    """Run the demo for ``warmup_s + duration_s`` seconds, sampling every ``interval_s``; return the
    report (``samples``, ``summary``, ``exit_code`` of the demo)."""
    demo = DemoProcess(workdir)
    samples: list[Sample] = []
    try:
        demo.start()
        sampler = Sampler(demo)
        log(f"demo up (pid {demo.pid}, {demo.url}); warm-up {warmup_s:.0f} s, then {duration_s:.0f} s measured")
        log(table_header())
        end = sampler.t0 + warmup_s + duration_s
        next_t = sampler.t0
        while True:
            if demo.proc is None or demo.proc.poll() is not None:
                raise RuntimeError(f"the demo died during the soak: see {workdir}/demo.log")
            sample = sampler.take()
            samples.append(sample)
            log(table_row(sample))
            if time.monotonic() >= end:
                break
            next_t += interval_s
            time.sleep(max(0.0, min(next_t, end) - time.monotonic()))
    finally:
        code = demo.stop()
    return {"duration_s": duration_s, "interval_s": interval_s, "exit_code": code,
            "summary": summarize(samples, warmup_s), "samples": [asdict(s) for s in samples]}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_S", 1800)),
                   help="measured time after the warm-up (default $SOAK_S or 1800)")
    p.add_argument("--warmup", type=float, default=120.0, help="seconds before measuring (default 120)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument("--max-growth-mb", type=float, default=2.0, help="fail if RSS grows more (default 2)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON report (default {DEFAULT_OUT})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sledhub-soak-") as tmp:
        report = run_soak(args.seconds, interval_s=args.interval, warmup_s=args.warmup, workdir=Path(tmp))
    report["max_growth_mb"] = args.max_growth_mb
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    s = report["summary"]
    print(f"\nafter {s['warmup_s']:.0f} s warm-up, over {s['measured_s']:.0f} s: RSS {s['rss_mb_start']} → "
          f"{s['rss_mb_end']} MB (min {s['rss_mb_min']}, max {s['rss_mb_max']}), growth {s['rss_growth_mb']} MB "
          f"({s['rss_growth_mb_per_h']} MB/h); CPU {s['cpu_pct_mean']} %; threads {s['threads_min']}–"
          f"{s['threads_max']}; fds {s['open_fds_min']}–{s['open_fds_max']}; SQLite {s['db_mb_start']} → "
          f"{s['db_mb_end']} MB; broker {s['broker_rss_mb_start']} → {s['broker_rss_mb_end']} MB; "
          f"{s['messages_per_s']} msg/s\nreport: {args.out}")
    ok = s["rss_growth_mb"] < args.max_growth_mb
    print("memory flat: yes" if ok else f"memory flat: NO (growth ≥ {args.max_growth_mb} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
