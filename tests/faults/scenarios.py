"""The faults, each against the real hub process, broker and nodes (:mod:`tests.faults.parts`), and
what is counted for each: ``cases`` timed runs (or stored results at risk), ``lost`` results that
should exist and do not, ``doubled`` results stored twice, ``wrong`` results whose time is not the one
the node's beams gave (or a run cut short that got a time anyway), ``recover_s`` the longest time from
the end of the fault until the hub worked again (health answers, broker connected, nodes online).

A run: arm a lane (FLY_THROUGH) for a named athlete, break the start beam, [the fault], break the
finish beam; the expected time is the difference of the two node-clock times, exact.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import websocket

from server.mqtt.broker import ManagedBroker
from server.store.backup import backups
from tests.faults.parts import Api, HubProc, LaneNode, Proxy, seed
from tests.support.smallfs import SmallFs
from tests.support.waiting import wait_for

TOLERANCE_S = 0.0008
"""A time is wrong when further than this from the beams' difference: results are rounded to 1 ms
(0.5 ms), plus what a fitted drift may be off over a run of a few seconds. Both beams are on one node,
whose clock line the hub holds while the run is in progress: a clock estimate improving mid-run (a hub
just restarted) must not move the finish against the start."""
RESULT_TIMEOUT_S = 30.0
DONE = ("IDLE", "FINISHED", "FALSE_START", "DNF", "DQ", "ABORTED")
APPROACH_S = 0.1
"""The athlete reaches the start beam this long after the lane is armed (part of the simulated run: a
break that the hub places before its arm time, within the clock error, is rightly ignored)."""


@dataclass
class Row:
    fault: str
    cases: int = 0
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    recover_s: float = 0.0
    answer_ms: float | None = None
    """The slowest answer (ms) to another client while the fault was on, where the fault measures it."""
    notes: list[str] = field(default_factory=list)

    def recovered(self, seconds: float) -> None:
        self.recover_s = max(self.recover_s, seconds)


class Rig:
    """One broker, one hub (database on a small tmpfs, for the disk faults), two lane nodes: ``n1``
    straight to the broker, ``n2`` through a cuttable proxy."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.fs = SmallFs(workdir / "state", size_kib=16384)
        self.broker = ManagedBroker(workdir=workdir / "broker")
        self.proxy: Proxy | None = None
        self.nodes: dict[str, LaneNode] = {}
        self.expected: dict[str, float | None] = {}  # athlete -> time (None: must not get a time)
        self.hub: HubProc | None = None
        self.clock_watch: ClockWatch | None = None
        self._serial = 0

    def __enter__(self) -> "Rig":
        self.fs.__enter__()
        try:
            self.broker.start()
            self.proxy = Proxy((self.broker.host, self.broker.port))
            self.db_path = self.fs.path / "sledhub.db"
            seed(self.db_path, [("lane1", "n1"), ("lane2", "n2")])
            self.nodes = {"lane1": LaneNode("n1", (self.broker.host, self.broker.port)),
                          "lane2": LaneNode("n2", ("127.0.0.1", self.proxy.port))}
            for node in self.nodes.values():
                node.power_on()
            self.hub = HubProc(self.workdir, self.db_path, (self.broker.host, self.broker.port))
            self.hub.start(nodes_online=2)
            wait_for(self.clocks_settled, 30, 0.05, "both nodes' clocks known within 0.5 ms")
            self.clock_watch = ClockWatch(self.hub.api.base, {n.id: -n.clock_offset_us for n in self.nodes.values()})
            self.clock_watch.__enter__()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.clock_watch is not None:
            self.clock_watch.__exit__(None, None, None)
        if self.hub is not None:
            self.hub.stop()
        for node in self.nodes.values():
            node.stop()
        if self.proxy is not None:
            self.proxy.close()
        self.broker.close()
        self.fs.__exit__(None, None, None)

    def clock_row(self) -> Row:
        """Stop the clock watch (started with the rig) and return its row."""
        assert self.clock_watch is not None
        self.clock_watch.__exit__(None, None, None)
        return self.clock_watch.row

    # runs ----------------------------------------------------------------------------------------
    def athlete(self, fault: str) -> str:
        self._serial += 1
        return f"{fault}-{self._serial}"

    def run(self, station: str, fault: str, during: Callable[[], None] = lambda: None,
            expect_time: bool = True) -> str:
        """One run with ``during()`` between the start and the finish beam; returns the athlete."""
        node, who = self.nodes[station], self.athlete(fault)
        self.ensure_idle(station)
        self.hub.api.arm(station, who)
        time.sleep(APPROACH_S)
        t_start = node.now_us()
        node.beam_break("start", t_start)
        self.wait_running(station)
        during()
        t_finish = max(node.now_us(), t_start + 300_000)
        node.beam_break("finish", t_finish)
        self.expected[who] = (t_finish - t_start) / 1e6 if expect_time else None
        return who

    def state(self, station: str) -> str:
        return next(s["state"] for s in self.hub.api.call("GET", "/api/setup")["stations"] if s["id"] == station)

    def ensure_idle(self, station: str) -> None:
        """A run a fault left hanging (counted already) is aborted, so the next case starts clean."""
        if self.state(station) not in DONE:
            self.hub.api.call("POST", f"/api/stations/{station}/abort", {"reason": "left by a fault"})
            wait_for(lambda: self.state(station) in DONE, 10, 0.02, f"{station} aborted")

    def wait_running(self, station: str) -> None:
        """Until the hub has started the attempt (the start beam reached the engine)."""
        def running() -> bool:
            view = self.hub.api.call("GET", "/api/setup")
            return any(s["id"] == station and s["state"] == "RUNNING" for s in view["stations"])
        wait_for(running, 10, 0.02, f"the run at {station} started")

    def clocks_settled(self, bound_us: int = 500) -> bool:
        """Every node's clock placed within ``bound_us`` (``/api/nodes`` ``clock.error_bound_us``): the
        rig starts its faults from settled clocks; the hub-kill fault then times a run right after the
        restart, on whatever estimate the new hub has."""
        rows = self.hub.api.call("GET", "/api/nodes")
        rows = rows if isinstance(rows, list) else rows.get("nodes", [])
        bounds = {r.get("id"): (r.get("clock") or {}).get("error_bound_us") for r in rows}
        return all(bounds.get(n.id) is not None and bounds[n.id] <= bound_us for n in self.nodes.values())

    def ready(self, nodes: int = 2) -> bool:
        h = self.hub.api.health()
        return bool(h and h["broker_connected"] and h["nodes_online"] >= nodes)

    def wait_recovered(self, since: float, nodes: int = 2, timeout_s: float = 60.0) -> float:
        wait_for(lambda: self.ready(nodes), timeout_s, 0.02, "the hub working again")
        return time.monotonic() - since

    def score(self, row: Row, athletes: list[str]) -> Row:
        """Wait for every expected result (up to RESULT_TIMEOUT_S), then count lost/doubled/wrong."""
        def by_athlete() -> dict[str, list[dict]]:
            out: dict[str, list[dict]] = {}
            for r in self.hub.api.results():
                out.setdefault(r["athlete"], []).append(r)
            return out
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while True:
            got = by_athlete()
            if all(a in got for a in athletes if self.expected[a] is not None) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for a in athletes:
            rows, want = got.get(a, []), self.expected[a]
            row.cases += 1
            if want is not None and not rows:
                row.lost += 1
                row.notes.append(f"{a}: no result")
            if len(rows) > 1:
                row.doubled += 1
            timed = [r for r in rows if r["status"] == "OK" and r["time_s"] is not None]
            if want is None and timed:
                row.wrong += 1
                row.notes.append(f"{a}: a run cut short got a time {timed[0]['time_s']}")
            elif want is not None and rows and not (timed and abs(timed[0]["time_s"] - want) <= TOLERANCE_S):
                row.wrong += 1
                row.notes.append(f"{a}: {rows[0]['status']} {rows[0]['time_s']} instead of {want:.6f}")
        return row


class ClockWatch:
    """Polls ``/api/nodes`` every ``interval_s`` on its own thread while the faults run. Each node's
    ``offset_us`` (what a time placed then gets: the held line while held) must lie within its
    ``error_bound_us`` of the true offset (a lane node's clock is the machine's monotonic clock plus a
    known offset, so the truth is known here), and no held line may be "proved wrong" (a new
    ``hold_breaks``: between two honest bounds it cannot be; a break mid-run moves a finish against
    its start). A poll the hub does not answer (stalled, killed, starting) is skipped."""

    def __init__(self, base_url: str, true_offsets_us: dict[str, int], interval_s: float = 0.1):
        self.api = Api(base_url)
        self.truth = true_offsets_us
        self.interval_s = interval_s
        self.row = Row("node clock offsets within their error bound (polls)")
        self._breaks: dict[str, int] = {}  # node -> hold_breaks last seen (it starts again with a new hub)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock-watch", daemon=True)

    def __enter__(self) -> "ClockWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                rows = self.api.call("GET", "/api/nodes", timeout_s=2.0)
            except (OSError, ValueError, http.client.HTTPException):  # URLError is an OSError
                continue  # killed or restarting (a cut answer), stalled, or not up yet
            try:
                self.check(rows)
            except Exception as exc:  # noqa: BLE001 - a poll the watch cannot read is counted, not lost
                self.row.cases += 1
                self.row.wrong += 1
                self.row.notes.append(f"unreadable /api/nodes answer: {exc!r}")

    def check(self, rows: list[dict]) -> None:
        """Count one poll: a wrong when any node's offset is outside its bound or a hold broke."""
        lies = []
        for r in rows:
            clock, true = r.get("clock") or {}, self.truth.get(r.get("id"))
            off, bound = clock.get("offset_us"), clock.get("error_bound_us")
            if true is None or off is None or bound is None:
                continue
            if abs(off - true) > bound:
                lies.append(f"{r['id']} offset {off - true:+d} us from the truth, bound {bound} us "
                            f"({clock.get('samples')} samples)")
            breaks, seen = clock.get("hold_breaks") or 0, self._breaks.get(r["id"], 0)
            if breaks > seen:
                lies.append(f"{r['id']}: {breaks - seen} held line(s) proved wrong")
            self._breaks[r["id"]] = breaks
        self.row.cases += 1
        if lies:
            self.row.wrong += 1
            if len(self.row.notes) < 10:
                self.row.notes.append("; ".join(lies))


# the faults ------------------------------------------------------------------------------------------
def broker_restart(rig: Rig, cases: int) -> Row:
    row, who = Row("broker restart"), []
    for _ in range(cases):
        def restart() -> None:
            rig.broker.restart()
            t0 = time.monotonic()
            row.recovered(rig.wait_recovered(t0))
        who.append(rig.run("lane1", "broker", restart))
    return rig.score(row, who)


def hub_kill(rig: Rig, cases: int) -> Row:
    """Runs finish and are announced; the hub is killed (SIGKILL) and started again on its database:
    every announced result is still there once, and the next run is timed right."""
    row, who = Row("hub kill -9 and restart"), []
    for _ in range(cases):
        who.append(rig.run("lane1", "kill"))
        rig.score(Row("warm-up"), who[-1:])  # announced before the kill
        rig.hub.kill9()
        t0 = time.monotonic()
        rig.hub.start(nodes_online=2)
        row.recovered(time.monotonic() - t0)
        who.append(rig.run("lane1", "kill"))
    return rig.score(row, who)


def hub_stalls(rig: Rig, stalls_s: tuple[float, ...]) -> Row:
    row, who = Row(f"hub stall {min(stalls_s):g}–{max(stalls_s):g} s"), []
    for s in stalls_s:
        def stall(s: float = s) -> None:
            rig.hub.stall(s)
            row.recovered(rig.wait_recovered(time.monotonic()))
        who.append(rig.run("lane1", "stall", stall))
    return rig.score(row, who)


def node_power_cut(rig: Rig, cases: int) -> Row:
    """The node dies between the start and the finish beam (that run must not get a time; the
    instructor aborts it), comes back with a new boot, and the next run is timed right."""
    row, who = Row("node power cut mid-run and return"), []
    node = rig.nodes["lane1"]
    for _ in range(cases):
        cut = rig.athlete("powercut")
        rig.ensure_idle("lane1")
        rig.hub.api.arm("lane1", cut)
        time.sleep(APPROACH_S)
        node.beam_break("start", node.now_us())
        rig.wait_running("lane1")
        node.power_cut()
        wait_for(lambda: (h := rig.hub.api.health()) and h["nodes_online"] == 1, 30, 0.02, "the node seen offline")
        rig.hub.api.call("POST", "/api/stations/lane1/abort", {"reason": "node lost power"})
        rig.expected[cut] = None
        t0 = time.monotonic()
        node.power_on()
        row.recovered(rig.wait_recovered(t0))
        who += [cut, rig.run("lane1", "powercut")]
    return rig.score(row, who)


def node_partition(rig: Rig, cases: int, partition_s: float = 3.0) -> Row:
    """The network between node n2 and the broker is cut while a run is on; the finish beam breaks
    during the partition; the node's queued event must arrive once it is back."""
    row, who = Row("node network partition"), []
    for _ in range(cases):
        def partition() -> None:
            rig.proxy.cut()
            time.sleep(partition_s / 2)  # the athlete runs on while the network is down
        node = rig.nodes["lane2"]
        athlete = rig.athlete("partition")
        rig.ensure_idle("lane2")
        rig.hub.api.arm("lane2", athlete)
        time.sleep(APPROACH_S)
        t_start = node.now_us()
        node.beam_break("start", t_start)
        rig.wait_running("lane2")
        partition()
        t_finish = node.now_us()
        node.beam_break("finish", t_finish)  # queued by the node while cut off
        rig.expected[athlete] = (t_finish - t_start) / 1e6
        time.sleep(partition_s / 2)
        rig.proxy.heal()
        row.recovered(rig.wait_recovered(time.monotonic()))
        who.append(athlete)
    return rig.score(row, who)


def _refused_cleanly(row: Row, rc: int, output: str) -> None:
    """Exit status 3 and one line (``sledhub: ...``), no traceback; else the row counts it as wrong."""
    lines = [line for line in output.splitlines() if line.strip()]
    if rc != 3 or "Traceback" in output or len(lines) != 1 or not lines[0].startswith("sledhub: "):
        row.wrong += 1
        row.notes.append(f"exit status {rc}, output {output[-300:]!r}")


def store_faults(rig: Rig) -> list[Row]:
    """Read-only and corrupt database at start-up: exit 3 with one line, nothing stored is lost (read-
    only: fixed in place; corrupt: restored from the start-up backup). Disk full while running: the
    results wait in memory and are all written once there is space."""
    rows = []
    rig.score(Row("a result to keep"), [rig.run("lane1", "store")])  # at least one result at risk
    before = {r["id"]: r for r in rig.hub.api.results()}
    rig.hub.stop()
    ro = Row("read-only database at start")
    rig.fs.read_only()
    t0 = time.monotonic()
    rig.hub.spawn()
    _refused_cleanly(ro, rig.hub.exit_code(), rig.hub.stderr())
    rig.fs.read_write()
    ro.cases = len(before)
    rig.hub.start(nodes_online=2)
    ro.recovered(time.monotonic() - t0)
    after = {r["id"]: r for r in rig.hub.api.results()}
    ro.lost = sum(1 for k in before if k not in after)
    rows.append(ro)

    bad = Row("corrupt database at start (restored from backup)")
    copies = backups(rig.db_path)
    rig.hub.stop()
    rig.db_path.write_bytes(b"\0garbage" * 4096)
    for suffix in ("-wal", "-shm"):
        Path(f"{rig.db_path}{suffix}").unlink(missing_ok=True)
    t0 = time.monotonic()
    rig.hub.spawn()
    _refused_cleanly(bad, rig.hub.exit_code(), rig.hub.stderr())
    rig.db_path.write_bytes(copies[-1].read_bytes())  # docs/deploy.md "Restore"
    rig.hub.start(nodes_online=2)
    bad.recovered(time.monotonic() - t0)
    restored = {r["id"] for r in rig.hub.api.results()}
    bad.cases = len(after)
    bad.lost = sum(1 for k in after if k not in restored)
    rows.append(bad)

    full, who = Row("disk full while running"), []
    rig.fs.fill()
    for _ in range(3):
        who.append(rig.run("lane1", "diskfull"))
    wait_for(lambda: (h := rig.hub.api.health()) and h["results_pending"] >= 1, 30, 0.05, "a result held back")
    rig.fs.free()
    t0 = time.monotonic()
    wait_for(lambda: (h := rig.hub.api.health()) and h["results_pending"] == 0 and h["store_writable"], 30, 0.05,
             "the held results written")
    full.recovered(time.monotonic() - t0)
    rows.append(rig.score(full, who))
    return rows


def many_clients(rig: Rig, n: int = 200) -> Row:
    """``n`` Socket.IO clients (websocket) connect at once and all leave at once, around a run."""
    row = Row(f"{n} clients connect and leave at once")
    url = f"ws://127.0.0.1:{rig.hub.port}/socket.io/?EIO=4&transport=websocket"
    socks: list[websocket.WebSocket] = []
    lock = threading.Lock()

    def join() -> None:
        try:
            ws = websocket.create_connection(url, timeout=20)
            ws.recv()  # Engine.IO open
            ws.send("40")  # Socket.IO connect
            with lock:
                socks.append(ws)
        except (OSError, websocket.WebSocketException) as exc:
            with lock:
                row.notes.append(f"a client could not connect: {exc}")
    threads = [threading.Thread(target=join, name=f"fault-client-{i}") for i in range(n)]

    def storm() -> None:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    who = [rig.run("lane1", "clients", storm)]
    t0 = time.monotonic()
    for ws in socks:
        ws.abort()
        ws.close()
    row.recovered(rig.wait_recovered(t0))
    if len(socks) < n:
        row.notes.append(f"{n - len(socks)} of {n} clients not connected")
    return rig.score(row, who)


FLOOD_PONGS = 8
"""Pings a lane node answers under the API flood before its runs start (the rig pings every second)."""


def api_flood(rig: Rig, cases: int = 3, clients: int = 4) -> Row:
    """``clients`` threads ask ``GET /api/nodes`` without pause while runs are timed: the hub's serving
    loop and its HTTP workers compete with paho's thread for the GIL, so a clock ping's send time and a
    pong's receipt wait longest here. Each run must be timed right; the clock watch (every poll within
    its bound) runs meanwhile, as always."""
    row, who = Row(f"API flood ({clients} clients polling without pause)"), []
    stop = threading.Event()
    answered = [0] * clients  # per poller: one writer each
    node, probe = rig.nodes["lane1"].id, Api(rig.hub.api.base)

    def pongs() -> int:
        return next(r["clock"].get("pongs", 0) for r in probe.call("GET", "/api/nodes", timeout_s=10.0)
                    if r["id"] == node)

    def poll(i: int) -> None:
        api = Api(rig.hub.api.base)
        while not stop.is_set():
            try:
                api.call("GET", "/api/nodes", timeout_s=5.0)
                answered[i] += 1
            except (OSError, ValueError, http.client.HTTPException):
                pass
    threads = [threading.Thread(target=poll, args=(i,), name=f"fault-flood-{i}", daemon=True)
               for i in range(clients)]
    before = pongs()
    for t in threads:
        t.start()
    try:  # the first run only once the node's clock has taken FLOOD_PONGS samples under the load
        wait_for(lambda: sum(answered) >= 100 and pongs() - before >= FLOOD_PONGS, 60, 0.2,
                 f"{FLOOD_PONGS} of {node}'s pings answered under the flood")
        for _ in range(cases):
            who.append(rig.run("lane1", "flood"))
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    return rig.score(row, who)


ANSWER_PROBES = 20
"""How many times another client asks ``/api/health`` while the half-open connections are held."""
ANSWER_WITHIN_MS = 100.0
"""Issue 15: while slow or half-open clients are held, the hub answers other clients within this (ms)."""


def half_open_http(rig: Rig, n: int = 1000) -> Row:
    """``n`` HTTP connections that send half a request and hang, while a run is timed and other clients
    must still be answered. Once the hub has taken the burst (its first answer, noted), ``answer_ms`` is
    the slowest of :data:`ANSWER_PROBES` health requests (each on a new connection) made while all ``n``
    are held (issue 15: within 100 ms)."""
    row = Row(f"{n} half-open HTTP connections")
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", rig.hub.port), timeout=10)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: hub\r\n")  # no blank line: the request never ends
            socks.append(s)
        t0 = time.monotonic()
        wait_for(lambda: rig.hub.api.health() is not None, 30, 0.0, "the hub answering after the burst")
        row.notes.append(f"first answer after the burst of {n} connections: {(time.monotonic() - t0) * 1000:.0f} ms")
        answers_ms = []
        for _ in range(ANSWER_PROBES):
            t = time.perf_counter()
            answered = rig.hub.api.health() is not None
            answers_ms.append((time.perf_counter() - t) * 1000 if answered else float("inf"))
        row.answer_ms = max(answers_ms)
        row.notes.append(f"health while held: median {sorted(answers_ms)[len(answers_ms) // 2]:.1f} ms, "
                         f"slowest {row.answer_ms:.1f} ms of {ANSWER_PROBES}: "
                         + " ".join(f"{a:.0f}" for a in answers_ms))
        who = [rig.run("lane1", "halfopen")]
        row.recovered(rig.wait_recovered(t0))
        rig.score(row, who)
    finally:
        for s in socks:
            s.close()
    row.recovered(rig.wait_recovered(time.monotonic()))
    return row
