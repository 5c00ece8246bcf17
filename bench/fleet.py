"""Bench child processes, seen from the bench: the node fleet and the Socket.IO client fleet.

:class:`NodeFleet` starts ``plan.node_processes`` node processes (:mod:`bench.nodeproc`), routes
commands to the process that hosts a station, and reads their reports on one thread: ``ran``
reports go to ``on_ran``, every other reply to :meth:`NodeFleet.replies`.
"""

from __future__ import annotations

import pickle
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from bench.nodeproc import node_process
from bench.nodes import Records
from bench.plan import Plan
from bench.sioclient import ClientRecords, client_process

JOIN_TIMEOUT_S = 15.0


class FleetError(RuntimeError):
    """A bench child process did not start or answer in time."""


def join_or_kill(proc: Any, timeout_s: float = JOIN_TIMEOUT_S) -> None:
    """Wait up to ``timeout_s`` for a bench child process to end; kill it if it has not."""
    proc.join(timeout_s)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


class NodeFleet:
    def __init__(self, ctx: Any, plan: Plan, broker: tuple[str, int], prefix: str, workdir: Path, *,
                 load: bool = True, seed: int = 9):
        self.plan, self.prefix = plan, prefix
        self._ctx = ctx
        self._report_q = ctx.Queue()
        self._cmd_qs = [ctx.Queue() for _ in range(plan.node_processes)]
        self._out = [workdir / f"{prefix}-nodes-{i}.pickle" for i in range(plan.node_processes)]
        self._procs = [
            ctx.Process(target=node_process, name=f"bench-{prefix}-nodes-{i}", daemon=True,
                        args=(plan, i, broker, prefix, self._cmd_qs[i], self._report_q, str(self._out[i]),
                              seed * 1000 + i, load))
            for i in range(plan.node_processes)
        ]
        self._station_proc = {sid: i for i in range(plan.node_processes) for sid in plan.stations_of_process(i)}
        self._replies: queue.Queue = queue.Queue()
        self._reader: threading.Thread | None = None
        self.on_ran: Callable[[str, int], None] = lambda station, k: None

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def spawn(self) -> None:
        """Start the processes (they connect their nodes in the background)."""
        for p in self._procs:
            p.start()
        self._reader = threading.Thread(target=self._read, name="bench-fleet-reader", daemon=True)
        self._reader.start()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        ready = self.wait_all("ready", timeout_s)
        if not all(r[2] for r in ready):
            raise FleetError(f"{self.prefix} nodes could not connect to the broker")

    def _read(self) -> None:
        while True:
            try:
                item = self._report_q.get()
            except (EOFError, OSError):
                return
            if item is None:
                return
            if item[0] == "ran":
                self.on_ran(item[1], item[2])
            else:
                self._replies.put(item)

    def send(self, station_id: str, cmd: tuple) -> None:
        self._cmd_qs[self._station_proc[station_id]].put(cmd)

    def broadcast(self, cmd: tuple) -> None:
        for q in self._cmd_qs:
            q.put(cmd)

    def wait_all(self, kind: str, timeout_s: float) -> list[tuple]:
        """One reply of ``kind`` from every process (other replies are dropped)."""
        deadline = time.monotonic() + timeout_s
        got: dict[int, tuple] = {}
        while len(got) < len(self._procs):
            try:
                item = self._replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise FleetError(f"{self.prefix} node processes: no '{kind}' from "
                                 f"{sorted(set(range(len(self._procs))) - set(got))}") from None
            if item[0] == kind:
                got[item[1]] = item
        return [got[i] for i in sorted(got)]

    def counts(self, timeout_s: float = 30.0) -> dict[str, dict[str, int]]:
        self.broadcast(("counts",))
        out: dict[str, dict[str, int]] = {}
        for reply in self.wait_all("counts", timeout_s):
            out.update(reply[2])
        return out

    def stop(self) -> list[Records]:
        """Quit every process, wait for it, and return the records they wrote."""
        self.broadcast(("quit",))
        try:
            self.wait_all("done", JOIN_TIMEOUT_S)
        except FleetError:
            pass
        for p in self._procs:
            join_or_kill(p)
        self._report_q.put(None)
        if self._reader is not None:
            self._reader.join(5)
        for q in [*self._cmd_qs, self._report_q]:
            q.close()
            q.join_thread()
        records = []
        for path in self._out:
            if path.exists():
                with open(path, "rb") as f:
                    records.append(pickle.load(f))
        return records


class ClientFleet:
    """``plan.clients`` Socket.IO clients in processes of ``plan.clients_per_process``."""

    def __init__(self, ctx: Any, plan: Plan, base_url: str, workdir: Path):
        self._stop = ctx.Event()
        self._reply_q = ctx.Queue()
        self._procs, self._out = [], []
        for first in range(0, plan.clients, plan.clients_per_process):
            n = min(plan.clients_per_process, plan.clients - first)
            out = workdir / f"clients-{first}.pickle"
            self._out.append(out)
            self._procs.append(ctx.Process(target=client_process, name=f"bench-clients-{first}", daemon=True,
                                           args=(base_url, first, n, self._stop, self._reply_q, str(out))))
        self.connected = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def spawn(self) -> None:
        for p in self._procs:
            p.start()

    def wait_ready(self, timeout_s: float = 60.0) -> int:
        """Wait until every process has connected its clients; returns how many connected."""
        deadline = time.monotonic() + timeout_s
        for _ in self._procs:
            try:
                reply = self._reply_q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise FleetError("Socket.IO client processes did not connect in time") from None
            self.connected += reply[2]
        return self.connected

    def stop(self) -> list[ClientRecords]:
        self._stop.set()
        for p in self._procs:
            join_or_kill(p)
        self._reply_q.close()
        self._reply_q.join_thread()
        records: list[ClientRecords] = []
        for path in self._out:
            if path.exists():
                with open(path, "rb") as f:
                    records.extend(pickle.load(f))
        return records
