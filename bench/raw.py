"""The raw baseline: this machine's MQTT ceiling with no hub.

The same bench publishers that saturate the hub later (the sled nodes, in the same processes, with
the same telemetry batches: 15 wheel samples or 4 force samples) publish to a private Mosquitto; one
bare paho subscriber in its own process (subscribed, like the hub, to every node's ``tel`` at QoS 0)
counts what arrives. The offered rate climbs in steps (:func:`bench.saturation.ramp`) until the
subscriber falls behind; the ceiling is the best rate it received at.
"""

from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench.fleet import NodeFleet, join_or_kill
from bench.hubproc import broker_pid
from bench.plan import Pinning, Plan
from bench.saturation import process_cpu_s, ramp
from server.mqtt.broker import ManagedBroker
from server.protocol.messages import TOPIC_ROOT


def subscriber_process(broker: tuple[str, int], cmd_q: Any, reply_q: Any) -> None:
    """Count every ``tel`` message; answer ``("count",)`` with ``(count, last_receipt_ns)``."""
    state = {"count": 0, "last": 0}
    subscribed = threading.Event()

    def on_message(client, userdata, message) -> None:
        state["count"] += 1
        state["last"] = time.monotonic_ns()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-bench-raw-subscriber",
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{TOPIC_ROOT}/+/tel", 0)
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    client.connect(*broker, keepalive=30)
    client.loop_start()
    reply_q.put(("ready", subscribed.wait(10)))
    while cmd_q.get() == "count":
        reply_q.put((state["count"], state["last"]))
    client.disconnect()
    client.loop_stop()


def probe_process(broker: tuple[str, int], stop: Any, out_path: str) -> None:
    """A bare subscriber to every node's ``evt``: stamps each on arrival; pickles
    ``[(node, seq, recv_ns)]`` to ``out_path`` when ``stop`` is set."""
    got: list[tuple[str, int, int]] = []

    def on_message(client, userdata, message) -> None:
        now = time.monotonic_ns()
        node = message.topic.split("/")[3]
        got.append((node, json.loads(message.payload)["seq"], now))

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-bench-probe",
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{TOPIC_ROOT}/+/evt", 1)
    client.connect(*broker, keepalive=30)
    client.loop_start()
    stop.wait(600)
    client.disconnect()
    client.loop_stop()
    with open(out_path, "wb") as f:
        pickle.dump(got, f)


class RawSubscriber:
    """The subscriber process, as a consumer for :func:`~bench.saturation.ramp`."""

    def __init__(self, ctx: Any, broker: tuple[str, int]):
        self._cmd, self._reply = ctx.Queue(), ctx.Queue()
        self._proc = ctx.Process(target=subscriber_process, args=(broker, self._cmd, self._reply),
                                 name="bench-raw-subscriber", daemon=True)

    def spawn(self) -> None:
        self._proc.start()

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None
        return self._proc.pid

    def wait_ready(self) -> None:
        if self._reply.get(timeout=30) != ("ready", True):
            raise RuntimeError("the raw-baseline subscriber could not subscribe")

    def count(self) -> tuple[int, int]:
        self._cmd.put("count")
        return self._reply.get(timeout=10)

    def stop(self) -> None:
        self._cmd.put("stop")
        join_or_kill(self._proc, 10)
        for q in (self._cmd, self._reply):
            q.close()
            q.join_thread()


def raw_ceiling(ctx: Any, plan: Plan, workdir: Path, pinning: Pinning = Pinning()) -> dict[str, Any]:
    """Run the baseline on a private broker; returns the ramp's steps and ``msgs_per_s``. With
    ``pinning``, the subscriber and the broker get the hub's CPU, as the hub and its broker do later."""
    with ManagedBroker(workdir=workdir / "raw-broker", persistence=False) as broker:
        pinning.pin(broker_pid(broker), "hub")
        address = (broker.host, broker.port)
        sub = RawSubscriber(ctx, address)
        fleet = NodeFleet(ctx, plan, address, "raw", workdir, load=False)
        sub.spawn()
        pinning.pin(sub.pid, "hub")
        try:
            fleet.spawn()
            sub.wait_ready()
            fleet.wait_ready()
            result = ramp(fleet, sub.count, plan.raw_step_s, plan.raw_start_rate, plan.raw_max_steps, plan.ramp_factor,
                          cpu_s=process_cpu_s(sub.pid))
        finally:
            fleet.stop()
            sub.stop()
    return result
