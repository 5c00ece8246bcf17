"""The shipped Mosquitto drop-in, run for real on a free loopback port, and small MQTT test clients.

``SecuredBroker`` lays out a temporary ``/etc/mosquitto`` the way Debian does: a main
``mosquitto.conf`` (persistence location, logging) that includes ``conf.d/``, holding
``deploy/mosquitto/sledhub.conf`` as shipped except for three substitutions: the listener moves to
a free loopback port, and the password and ACL files move into the temporary directory (the ACL is
``deploy/mosquitto/sledhub.acl``, copied unchanged).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from server.mqtt.broker import find_mosquitto, free_port, wait_listening
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DROPIN = REPO / "deploy" / "mosquitto" / "sledhub.conf"
ACL = REPO / "deploy" / "mosquitto" / "sledhub.acl"
SHIPPED_PASSWD_FILE = "/etc/mosquitto/sledhub.passwd"
SHIPPED_ACL_FILE = "/etc/mosquitto/sledhub.acl"


def dropin_directives(text: str) -> dict[str, list[str]]:
    """Map each directive of a Mosquitto config to the values it is given, in order."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value.strip())
    return found


def localize_dropin(text: str, port: int, passwd_file: Path, acl_file: Path) -> str:
    """The shipped drop-in with its listener on ``127.0.0.1:port`` and its files at the given paths.

    Fails if the drop-in lacks one of the three lines or names other files than the installer and
    ``sledhub node add`` use.
    """
    replacements = {
        "listener": (None, f"listener {port} 127.0.0.1"),
        "password_file": (f"password_file {SHIPPED_PASSWD_FILE}", f"password_file {passwd_file}"),
        "acl_file": (f"acl_file {SHIPPED_ACL_FILE}", f"acl_file {acl_file}"),
    }
    out, seen = [], set()
    for line in text.splitlines():
        key = line.split(" ", 1)[0]
        if key in replacements:
            shipped, local = replacements[key]
            assert shipped is None or line == shipped, f"drop-in says {line!r}, expected {shipped!r}"
            assert key not in seen, f"drop-in has more than one {key!r} line"
            seen.add(key)
            line = local
        out.append(line)
    assert seen == set(replacements), f"drop-in lacks {set(replacements) - seen}"
    return "\n".join(out) + "\n"


@dataclass
class SecuredBroker:
    """Mosquitto with the shipped drop-in; ``passwd_file`` must hold the logins before ``start()``."""

    workdir: Path
    port: int = 0
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def passwd_file(self) -> Path:
        return self.workdir / "sledhub.passwd"

    @property
    def log_file(self) -> Path:
        return self.workdir / "mosquitto.log"

    def start(self) -> "SecuredBroker":
        self.port = self.port or free_port()
        conf_d = self.workdir / "conf.d"
        conf_d.mkdir(parents=True, exist_ok=True)
        acl = self.workdir / "sledhub.acl"
        shutil.copyfile(ACL, acl)
        (conf_d / "sledhub.conf").write_text(
            localize_dropin(DROPIN.read_text(encoding="utf-8"), self.port, self.passwd_file, acl), encoding="utf-8"
        )
        main = self.workdir / "mosquitto.conf"
        main.write_text(
            "\n".join([
                # Debian's /etc/mosquitto/mosquitto.conf, with paths in the work directory...
                "persistence true",
                f"persistence_location {self.workdir}/",
                "log_dest stderr",
                # ...and, run as root (containers), stay root instead of dropping to user
                # "mosquitto", which could not read our temporary directory.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                f"include_dir {conf_d}",
            ]) + "\n",
            encoding="utf-8",
        )
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(main)], stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        if not wait_listening("127.0.0.1", self.port, 10.0) or self._proc.poll() is not None:
            self.stop()
            raise AssertionError(f"mosquitto did not start:\n{self.log_file.read_text(errors='replace')}")
        return self

    def reload(self) -> None:
        """SIGHUP, as ``systemctl reload mosquitto`` sends: re-reads the password and ACL files."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None


class MqttProbe:
    """A paho client that records what it receives; always ``close()`` it (stops its thread)."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None, client_id: str = ""):
        self.port = port
        self.username = username
        self.messages: list[tuple[str, bytes]] = []
        self.connack: mqtt.ReasonCode | None = None
        self.suback: list[mqtt.ReasonCode] | None = None
        self.disconnects = 0
        """How often the broker closed this client's connection (paho then reconnects by itself)."""
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.disconnects += 1

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, msg.payload))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.suback = list(reason_codes)

    def connect(self) -> mqtt.ReasonCode:
        """Connect and return the broker's CONNACK reason code (success or refusal).

        The handshake runs in this thread; only an accepted client gets paho's network thread, so a
        refused one leaves nothing to wind down.
        """
        self.client.connect("127.0.0.1", self.port, keepalive=30)

        def handshake_done() -> bool:
            # loop_read/loop_write, not loop(): loop() opens a wake-up socket pair that loop_start()
            # would then replace without closing.
            self.client.loop_write()
            self.client.loop_read()
            return self.connack is not None

        wait_for(handshake_done, what="CONNACK")
        if self.connack == 0:
            self.client.loop_start()
        return self.connack

    def subscribe(self, *topics: str) -> list[mqtt.ReasonCode]:
        self.suback = None
        self.client.subscribe([(topic, 1) for topic in topics])
        return wait_for(lambda: self.suback, what=f"SUBACK for {topics}")

    def publish(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the PUBACK (which a denied publish gets too, under MQTT 3.1.1)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=5)
        assert info.is_published(), f"no PUBACK for {topic}"

    def received(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.received()]

    def close(self) -> None:
        self.client.disconnect()
        if self.connack == 0:
            self.client.loop_stop()
