"""``make bench`` / ``python -m bench.run``: measure the hub under a class load, then saturate it.

Phases (``bench/README.md`` says what each figure means and how it is measured):

1. raw baseline: paho publishers → a private Mosquitto → a paho subscriber, no hub (the ceiling);
2. a fresh Mosquitto and the hub as its own process (``sledhub serve``), its database seeded first
   with the bench stations; start-up is timed until ``/api/health`` reports the broker connected;
3. Socket.IO clients connect, the bench nodes connect, the driver runs every station over and over;
   after a warm-up the class load is measured (hub CPU and RSS, latencies, frames);
4. runs stop; events published by the nodes are compared with the events the hub accepted;
5. saturation: the same publishers as the baseline, now with the hub as the consumer.

Options: ``--tiny`` (smoke-test scale), ``--load-s``, ``--clients``, ``--clients-per-process``, ``--sleds``,
``--lanes``, ``--profile`` (py-spy on the hub during the class load and the saturation), ``--out DIR``,
``--no-pin``, ``--hub-src DIR`` (A/B runs), ``--broker-option LINE`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import pickle
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

import psutil

from bench import analysis, report as reporting
from bench.driver import Driver
from bench.fleet import ClientFleet, NodeFleet, join_or_kill
from bench.hubproc import HubApi, HubApiError, HubProcess, Sampler, broker_pid
from bench.plan import Pinning, Plan, tiny
from bench.profile import Profiler
from bench.raw import probe_process, raw_ceiling
from bench.saturation import process_cpu_s, ramp, settle
from server.mqtt.broker import ManagedBroker

OUT_DIR = Path(__file__).resolve().parent / "out"
Log = Callable[[str], None]


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d}] {text}", flush=True)


def machine_info() -> dict[str, Any]:
    busy = psutil.cpu_percent(interval=1.0)
    return {"cpus": os.cpu_count(), "cpu_model": platform.processor() or platform.machine(),
            "python": platform.python_version(), "loadavg_before": [round(x, 2) for x in os.getloadavg()],
            "cpu_busy_before_pct": busy}


class Bench:
    """One bench run; the phases share the hub, the fleets and what they measured."""

    def __init__(self, plan: Plan, out_dir: Path, workdir: Path, log: Log = _say, hub_src: Path | None = None,
                 broker_options: tuple[str, ...] = ()):
        self.plan, self.out_dir, self.workdir, self.log = plan, out_dir, workdir, log
        self.hub_src = hub_src
        self.broker_options = list(broker_options)
        self.pinning = Pinning.for_this_machine(plan.pin)
        self.ctx = multiprocessing.get_context("spawn")
        self.m: dict[str, Any] = {}
        self.hub: HubProcess | None = None
        self.api: HubApi | None = None
        self.nodes: NodeFleet | None = None
        self.clients: ClientFleet | None = None
        self.driver: Driver | None = None
        self.sampler: Sampler | None = None

    # phases -------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.m["machine"] = machine_info()
        self.pinning.pin(os.getpid(), "world")  # every bench child inherits it; the hub side is pinned apart
        self.log("raw baseline: paho → Mosquitto → paho, no hub")
        self.m["raw"] = raw_ceiling(self.ctx, self.plan, self.workdir, self.pinning)
        self.log(f"  ceiling {self.m['raw']['msgs_per_s']:,} msg/s ({self.m['raw']['stopped_by']})")
        self._with_hub(self._class_load, self._lost_events, self._saturation)
        return self._report()

    def _with_hub(self, *phases: Callable[[], None]) -> None:
        """A fresh broker and hub with the clients and nodes connected, ``phases`` in turn, then all stopped."""
        with ManagedBroker(workdir=self.workdir / "broker", persistence=False,
                           extra_config=self.broker_options) as broker:
            self.pinning.pin(broker_pid(broker), "hub")
            try:
                self._start(broker)
                for phase in phases:
                    phase()
            finally:
                self._stop_all()

    def _start(self, broker: ManagedBroker) -> None:
        address = (broker.host, broker.port)
        self.hub = HubProcess(self.workdir, self.plan, address, self.hub_src, self.pinning)
        self.m["startup_s"] = round(self.hub.start(), 3)
        self.m["hub_rss_idle_mb"] = round(psutil.Process(self.hub.pid).memory_info().rss / 2**20, 1)
        self.log(f"hub up in {self.m['startup_s']} s (pid {self.hub.pid}, {self.hub.url}, "
                 f"RSS {self.m['hub_rss_idle_mb']} MB)")
        self.api = HubApi(self.hub.url)
        self.api.sign_in()
        self._probe_stop = self.ctx.Event()
        self._probe = self.ctx.Process(target=probe_process, name="bench-probe", daemon=True,
                                       args=(address, self._probe_stop, str(self.workdir / "probe.pickle")))
        self._probe.start()
        self.pinning.pin(self._probe.pid, "hub")
        self.sampler = Sampler({"hub": self.hub.pid, "broker": broker_pid(broker), "bench-main": os.getpid()})
        self.sampler.start()
        self.clients = ClientFleet(self.ctx, self.plan, self.hub.url, self.workdir)
        self.nodes = NodeFleet(self.ctx, self.plan, address, "bench", self.workdir)
        self.clients.spawn()
        self.nodes.spawn()
        self.m["clients_connected"] = self.clients.wait_ready()
        self.log(f"{self.m['clients_connected']} Socket.IO clients connected")
        self.nodes.wait_ready()
        for i, pid in enumerate(self.nodes.pids + self.clients.pids):
            self.sampler.add(f"bench-{i}", pid)
        self._wait_nodes_synced()
        self.log(f"{len(self.plan.station_ids)} bench nodes online, clocks synchronised")

    def _wait_nodes_synced(self, timeout_s: float = 20.0) -> None:
        wanted = {self.plan.node_of(s) for s in self.plan.station_ids}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            views = {v["id"]: v for v in self.api.get("/api/nodes")}
            if all(n in views and views[n]["online"] and views[n]["clock"].get("offset_us") is not None
                   for n in wanted):
                return
            time.sleep(0.1)
        raise RuntimeError("the bench nodes did not come online with a clock offset in time")

    def _class_load(self) -> None:
        plan = self.plan
        self.driver = Driver(self.api, self.nodes, plan)
        self.driver.start()
        self.log(f"class load: warm-up {plan.warmup_s:g} s, then {plan.load_s:g} s measured")
        time.sleep(plan.warmup_s)
        profiler = (Profiler(self.hub.pid, self.out_dir / "profile-class-load.txt", plan.profile_s)
                    if plan.profile_s else None)
        h0, t0 = self._health(), time.monotonic()
        backlog, clients, errors = 0, [], 0
        while time.monotonic() - t0 < plan.load_s:
            time.sleep(min(1.0, max(0.0, plan.load_s - (time.monotonic() - t0))))
            try:
                h = self.api.health(timeout_s=5)
            except (HubApiError, OSError):
                errors += 1  # the hub's pipeline did not answer within its 5 s
                continue
            backlog = max(backlog, h["pipeline_backlog"])
            clients.append(h["clients"])
        t1, h1 = time.monotonic(), self._health()
        self.m["window"] = (t0, t1)
        self.m["load_health"] = {"max_pipeline_backlog": backlog, "hub_clients_min": min(clients, default=0),
                                 "health_errors": errors,
                                 "messages_accepted_per_s": round((h1["messages_accepted"] -
                                                                   h0["messages_accepted"]) / (t1 - t0)),
                                 "late_events": h1["late_events"] - h0["late_events"],
                                 "pipeline_errors": h1["pipeline_errors"] - h0["pipeline_errors"],
                                 "gc": _gc_window(h0.get("gc"), h1.get("gc"))}
        if profiler is not None:
            self.m["profile_class_load"] = profiler.stop()
        self.log("class load measured; letting the last runs finish")
        self.driver.stop()

    def _health(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """``/api/health``, retried while the hub is too busy to answer (500 after its 5 s)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.api.health(timeout_s=10)
            except (HubApiError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _lost_events(self) -> None:
        """Events (QoS 1) the lane nodes published vs. the events the hub accepted, once nothing moves."""
        lanes = [self.plan.node_of(s) for s in self.plan.lane_ids]
        published = acked = got = 0
        for _ in range(5):  # a health or pong message may slip in between the two counts: count again
            settle(lambda: (self._events_accepted(lanes, None), time.monotonic_ns()), 10.0)
            counts = self.nodes.counts()
            got = self._events_accepted(lanes, counts)
            published = sum(counts.get(n, {}).get("evt", 0) for n in lanes)
            acked = sum(counts.get(n, {}).get("evt_acked", 0) for n in lanes)
            again = self.nodes.counts()
            if all(counts.get(n) == again.get(n) for n in lanes):
                break
        self.m["hub_clocks"] = {v["id"]: v["clock"].get("offset_us") for v in self.api.get("/api/nodes")}
        health = self._health()
        self.m["events"] = {"published": published, "acked_by_broker": acked, "accepted_by_hub": got,
                            "lost": published - got, "method": self.m["lost_method"],
                            "hub_sequence_gaps": health["sequence_gaps"], "hub_duplicates": health["duplicates"],
                            "hub_late_total": health["late_events"]}
        self.log(f"events: {published} published, {got} accepted by the hub")

    def _events_accepted(self, lanes: list[str], counts: dict[str, dict[str, int]] | None) -> int:
        """``evt`` messages the hub accepted from the lane nodes: its own counter if ``/api/health`` has
        one (``accepted_by_type``), else each node's accepted messages minus what the node sent that
        was not an event (``counts`` from the nodes; None = just the hub's total, for settling)."""
        by_type = self._health().get("accepted_by_type")
        if by_type is not None:
            self.m["lost_method"] = "hub counter accepted_by_type.evt"
            return by_type.get("evt", 0)
        self.m["lost_method"] = "hub's accepted messages per lane node minus the node's non-event messages"
        views = {v["id"]: v for v in self.api.get("/api/nodes")}
        other = ("status", "desc", "health", "pong")
        return sum(views[n]["msgs"] - sum((counts or {}).get(n, {}).get(k, 0) for k in other)
                   for n in lanes if n in views)

    def _saturation(self) -> None:
        plan = self.plan
        self.log("saturation: the same publishers, the hub as the consumer")
        self.nodes.broadcast(("idle",))
        profiler = Profiler(self.hub.pid, self.out_dir / "profile-saturation.txt") if plan.profile_s else None
        t0 = time.monotonic()

        def accepted() -> tuple[int, int]:
            return self._health()["messages_accepted"], time.monotonic_ns()

        self.m["saturation"] = ramp(self.nodes, accepted, plan.sat_step_s, plan.sat_start_rate, plan.sat_max_steps,
                                    plan.ramp_factor, drain_s=plan.drain_timeout_s, cpu_s=process_cpu_s(self.hub.pid))
        if profiler is not None:
            self.m["profile_saturation"] = profiler.stop()
        self.m["saturation_hub"] = self.sampler.window(t0, time.monotonic()).get("hub", {})
        self.log(f"  hub ingest {self.m['saturation']['msgs_per_s']:,} msg/s ({self.m['saturation']['stopped_by']})")

    def _stop_all(self) -> None:
        if self.driver is not None:
            self.driver.stop(timeout_s=5)
        self.m["probe"] = self._stop_probe()
        self.m["client_records"] = self.clients.stop() if self.clients else []
        self.m["node_records"] = self.nodes.stop() if self.nodes else []
        if self.sampler is not None:
            self.sampler.stop()
        if self.hub is not None:
            self.hub.stop()
            log = self.workdir / "hub.log"
            if log.exists():
                (self.out_dir / "hub.log").write_bytes(log.read_bytes())

    def _stop_probe(self) -> list[tuple]:
        probe = getattr(self, "_probe", None)
        if probe is None:
            return []
        self._probe_stop.set()
        join_or_kill(probe, 10)
        path = self.workdir / "probe.pickle"
        if not path.exists():
            return []
        with open(path, "rb") as f:
            return pickle.load(f)

    # report -------------------------------------------------------------------------------------
    def _report(self) -> dict[str, Any]:
        m, plan = self.m, self.plan
        t0, t1 = m["window"]
        clients, runs = m["client_records"], self.driver.runs
        joined = analysis.Joined(m["node_records"], runs)
        fin = analysis.finish_latencies(joined, clients, runs, (t0, t1))
        frames = analysis.frame_rates(clients)
        use = fin["finish"] if fin["finish"]["n"] else fin["result"]
        res = self.sampler.window(t0, t1)
        hub = res.get("hub", {})
        raw, sat = m["raw"]["msgs_per_s"], m["saturation"]["msgs_per_s"]
        report = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": "make bench  (.venv/bin/python -m bench.run " + " ".join(sys.argv[1:]) + ")",
            "raw_ceiling_msgs_per_s": raw,
            "ingest_msgs_per_s": sat,
            "ingest_ratio": round(sat / raw, 3) if raw else None,
            "finish_latency_ms": {**use, "event": "finish" if fin["finish"]["n"] else "result"},
            "frame_latency_ms": analysis.frame_latencies(joined, clients, (int(t0 * 1e9), int(t1 * 1e9))),
            "frames_per_s_per_station": frames["min"],
            "clients": m["clients_connected"],
            "lost_events": m["events"]["lost"],
            "hub_cpu_pct": hub.get("cpu_pct"),
            "hub_rss_mb": hub.get("rss_peak_mb"),
            "startup_s": m["startup_s"],
        }
        report["targets"] = reporting.check_targets(report)
        report["details"] = {
            "plan": asdict(plan), "machine": m["machine"], "raw": m["raw"], "saturation": m["saturation"],
            "saturation_hub": m["saturation_hub"], "hub_rss_at_startup_mb": m["hub_rss_idle_mb"],
            "result_latency_ms": fin["result"],
            "finish_events_latency_ms": fin["finish"], "finish_latency_parts_ms": fin["finish_parts"],
            "unmatched": fin["unmatched"],
            "runs_in_window": fin["runs_in_window"], "frames": frames, "events": m["events"],
            "class_load": {**m["load_health"], "processes": res}, "runs": analysis.result_summary(clients, runs),
            "driver": self.driver.summary(), "hub_src": str(self.hub_src) if self.hub_src else None,
            "broker_options": self.broker_options, "cpu_pinning": asdict(self.pinning),
            "clock_offset_error_us": analysis.clock_errors(m["node_records"], m.get("hub_clocks", {})),
            "mqtt_evt_latency_ms": analysis.probe_latencies(joined, m.get("probe", [])),
        }
        for key in ("profile_class_load", "profile_saturation"):
            if key in m:
                report["details"][key] = m[key]
        return report


def _plan(args: argparse.Namespace) -> Plan:
    plan = tiny() if args.tiny else Plan()
    changes = {k: v for k, v in (("sleds", args.sleds), ("lanes", args.lanes), ("clients", args.clients),
                                 ("clients_per_process", args.clients_per_process),
                                 ("load_s", args.load_s)) if v is not None}
    if args.profile:
        changes["profile_s"] = changes.get("load_s", plan.load_s)
    if args.no_pin:
        changes["pin"] = False
    return replace(plan, **changes)


def _gc_window(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """The hub's garbage-collector pauses over the measured window (``/api/health`` ``gc``; None from a
    hub that does not report them): collections per generation and their total (ms), and the longest
    pause since the hub started (ms)."""
    if not before or not after:
        return None
    return {"collections": [b - a for a, b in zip(before["collections"], after["collections"])],
            "pause_total_ms": round(after["pause_total_ms"] - before["pause_total_ms"], 1),
            "pause_max_ms_since_start": after["pause_max_ms"], "frozen": after.get("frozen")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="smoke-test scale (a few seconds per phase)")
    p.add_argument("--sleds", type=int)
    p.add_argument("--lanes", type=int)
    p.add_argument("--clients", type=int)
    p.add_argument("--clients-per-process", type=int, help="Socket.IO clients per bench process (default 10)")
    p.add_argument("--load-s", type=float, help="measured class-load window (s)")
    p.add_argument("--profile", action="store_true", help="py-spy on the hub (class load and saturation)")
    p.add_argument("--out", type=Path, default=OUT_DIR, help="where report.json goes (default bench/out)")
    p.add_argument("--no-pin", action="store_true", help="do not pin the hub and the bench to separate CPUs")
    p.add_argument("--hub-src", type=Path, help="run the hub from this checkout (A/B comparison of a change)")
    p.add_argument("--broker-option", action="append", default=[], metavar="LINE",
                   help="append a line to the hub's Mosquitto config (e.g. 'set_tcp_nodelay true')")
    args = p.parse_args(argv)
    plan = _plan(args)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sledhub-bench-") as tmp:
        report = Bench(plan, args.out, Path(tmp), hub_src=args.hub_src,
                       broker_options=tuple(args.broker_option)).run()
    report["details"]["bench_wall_s"] = round(time.monotonic() - started, 1)
    path = reporting.write(report, args.out)
    print()
    print(reporting.table(report))
    print(f"\nreport: {path}  (whole bench {report['details']['bench_wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
