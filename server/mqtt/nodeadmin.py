"""Broker credentials for sensor nodes: ``sledhub node add NAME``.

A node logs in to the hub's Mosquitto with its node id as username (the ACL in
``deploy/mosquitto/sledhub.acl`` lets user ``%u`` publish only under ``sledhub/v1/node/%u/``).
``add_node`` creates that login in Mosquitto's password file with a fresh random password;
``render_node_config`` turns it into the ``/etc/sledhub/node.toml`` the node's ``sledhub-bridge``
reads. The password exists in clear text only in that printed config: the hub keeps the hash.

Mosquitto 2 re-reads its password file on SIGHUP, so after adding a node:
``sudo systemctl reload mosquitto``.

The only I/O is running ``mosquitto_passwd`` on the given file (and, in ``main_node_add``, printing
and finding this host's address); nothing runs at import time.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge import wire

NODE_ID_RE = re.compile(wire.ID_PATTERN)
"""Node ids (= MQTT usernames), as in the topic contract of docs/architecture.md."""

RESERVED_NAMES = frozenset({"hub", "monitor"})
"""Usernames that are not nodes: ``hub`` holds the hub's rights in the ACL, ``monitor`` may read
everything (for watching with ``mosquitto_sub``). The broker makes each username the client id."""

DEFAULT_PASSWD_FILE = Path("/etc/mosquitto/sledhub.passwd")
"""The password file named by ``deploy/mosquitto/sledhub.conf``."""

DEFAULT_BROKER_PORT = 1883
"""The listener port of ``deploy/mosquitto/sledhub.conf``."""

PASSWORD_BYTES = 24
"""Random bytes in a generated password (192 bits; 32 URL-safe characters)."""

MOSQUITTO_GROUP = "mosquitto"
"""Group that may read a password file this module creates (Debian's broker runs as ``mosquitto``)."""

RELOAD_HINT = "now run 'sudo systemctl reload mosquitto' so the broker accepts the new login"


class NodeAdminError(Exception):
    """A node's credentials could not be created; the message says why and what to do."""


@dataclass(frozen=True)
class NodeCredentials:
    """What a node needs to log in to the hub's broker (``username`` is the node id)."""

    node_id: str
    username: str
    password: str
    broker_host: str
    broker_port: int


def validate_node_name(name: str) -> str:
    """Return ``name`` if it can be a node id and broker username, else raise :class:`NodeAdminError`."""
    if not NODE_ID_RE.fullmatch(name):
        raise NodeAdminError(
            f"invalid node name {name!r}: use 1-64 letters, digits, '_' or '-' (e.g. lane1, sled-2)"
        )
    if name.lower() in RESERVED_NAMES:
        raise NodeAdminError(f"the name {name!r} is reserved for the hub's own broker login")
    return name


def generate_password() -> str:
    """Return a new random broker password (URL-safe characters only, safe in TOML and shells)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def find_mosquitto_passwd() -> str:
    """Return the path of ``mosquitto_passwd`` or raise :class:`NodeAdminError` saying what to install."""
    found = shutil.which("mosquitto_passwd") or (
        "/usr/bin/mosquitto_passwd" if os.access("/usr/bin/mosquitto_passwd", os.X_OK) else None
    )
    if not found:
        raise NodeAdminError("mosquitto_passwd is missing: run 'sudo apt-get install mosquitto'")
    return found


def passwd_file_users(passwd_file: Path) -> set[str]:
    """Return the usernames in a Mosquitto password file (empty if the file does not exist)."""
    try:
        text = passwd_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except PermissionError as exc:
        raise NodeAdminError(f"cannot read {passwd_file}: run this as root (sudo)") from exc
    return {line.split(":", 1)[0] for line in text.splitlines() if ":" in line and not line.startswith("#")}


def set_broker_password(passwd_file: Path, username: str, password: str) -> None:
    """Create or update ``username`` in a Mosquitto password file.

    Runs ``mosquitto_passwd`` with the password on its standard input (not ``-b``, which would show it
    to every local user in the process list), with ``-c`` only when the file does not exist yet: ``-c``
    on an existing file would drop every other login. A file created here gets mode 0640 and, when
    the ``mosquitto`` group exists and we may, that group, so the broker (which runs as user
    ``mosquitto``) can read it. An existing file keeps its owner and mode (``mosquitto_passwd``
    rewrites it in place).
    """
    if any(ch in password for ch in "\r\n\0") or not password:
        raise NodeAdminError("a broker password must be non-empty and on one line")
    creating = not passwd_file.exists()
    if creating and not passwd_file.parent.is_dir():
        raise NodeAdminError(f"{passwd_file.parent} does not exist: is Mosquitto installed?")
    args = [find_mosquitto_passwd(), *(["-c"] if creating else []), str(passwd_file), username]
    done = subprocess.run(
        args, input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {done.returncode}"
        hint = " (run this as root: sudo)" if not os.access(passwd_file.parent, os.W_OK) else ""
        raise NodeAdminError(f"mosquitto_passwd failed on {passwd_file}: {reason}{hint}")
    if creating:
        _restrict_new_passwd_file(passwd_file)


def _restrict_new_passwd_file(passwd_file: Path) -> None:
    os.chmod(passwd_file, 0o640)
    try:
        gid = grp.getgrnam(MOSQUITTO_GROUP).gr_gid
    except KeyError:
        return
    try:
        os.chown(passwd_file, -1, gid)
    except PermissionError:
        pass  # not root: the file stays in our own group, fine for a private test broker


def add_node(
    name: str,
    passwd_file: Path,
    broker_host: str,
    broker_port: int = DEFAULT_BROKER_PORT,
    password: str | None = None,
    replace: bool = False,
) -> NodeCredentials:
    """Create the broker login of node ``name`` and return its credentials.

    The password is ``password`` or, by default, a new random one. A node that already has a login
    is refused unless ``replace`` is true (then its password changes and the node needs its new
    config), so a typo cannot silently lock a running node out.
    """
    validate_node_name(name)
    if not 0 < broker_port < 65536:
        raise NodeAdminError(f"invalid broker port {broker_port}")
    if name in passwd_file_users(passwd_file) and not replace:
        raise NodeAdminError(
            f"node {name!r} already has a broker login in {passwd_file}; "
            "use --replace to give it a new password (its config must then be updated)"
        )
    creds = NodeCredentials(
        node_id=name,
        username=name,
        password=password if password is not None else generate_password(),
        broker_host=broker_host,
        broker_port=broker_port,
    )
    set_broker_password(passwd_file, creds.username, creds.password)
    return creds


def toml_string(value: str) -> str:
    """Return ``value`` as a TOML basic string (JSON's escapes are valid TOML for non-ASCII kept raw)."""
    return json.dumps(value, ensure_ascii=False)


def render_node_config(creds: NodeCredentials) -> str:
    """Return the node's ``/etc/sledhub/node.toml``: ``[node]`` and ``[mqtt]`` filled in, plus a
    commented ``[[sensor]]`` example to adapt (see ``firmware_bridge/examples/`` for each kind)."""
    return f"""\
# sledhub sensor node {creds.node_id!r}: save as /etc/sledhub/node.toml on the node
# (sudo install -m 0640 -g sledhub node.toml /etc/sledhub/node.toml), then add its sensors below
# and run: sudo systemctl restart sledhub-bridge
# The password below is this node's broker login; the hub keeps only its hash. Keep this file private.

[node]
id = {toml_string(creds.node_id)}

[mqtt]
host = {toml_string(creds.broker_host)}
port = {creds.broker_port}
username = {toml_string(creds.username)}
password = {toml_string(creds.password)}

# One [[sensor]] block per sensor wired to this node. Kinds: load_cell, encoder, beam, dual_beam;
# pins are BCM GPIO numbers. Every option of every kind: firmware_bridge/config.py; full node
# examples: firmware_bridge/examples/lane-node.toml and sled-node.toml.
#
# [[sensor]]
# id = "start"
# kind = "beam"
# pin = 17                  # receiver output -> GPIO17 (pin 11)
# broken_level = "low"      # receiver output while the beam is broken
# pull = "up"
# holdoff_s = 1.0           # later breaks within 1 s are ignored
"""


def default_broker_host() -> str:
    """Return the address nodes should use to reach this host: its LAN IPv4 address, else
    ``<hostname>.local`` (mDNS, answered by avahi on Raspberry Pi OS)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            # connect() on UDP sends nothing; it only picks the interface that routes to the LAN.
            sock.connect(("10.255.255.255", 1))
            address = sock.getsockname()[0]
        if not address.startswith("127.") and address != "0.0.0.0":
            return address
    except OSError:
        pass
    return f"{socket.gethostname().split('.')[0]}.local"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sledhub node add",
        description="Create a sensor node's login on the hub's Mosquitto and print the node's config "
        "(/etc/sledhub/node.toml). Run it on the hub, as root.",
    )
    parser.add_argument("name", help="node id and broker username, e.g. lane1 ([A-Za-z0-9_-], 1-64 chars)")
    parser.add_argument(
        "--passwd-file", type=Path, default=DEFAULT_PASSWD_FILE,
        help=f"Mosquitto password file to add the login to (default: {DEFAULT_PASSWD_FILE})",
    )
    parser.add_argument(
        "--broker-host", default=None,
        help="hub address written into the node config (default: this host's LAN address, "
        "else <hostname>.local)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_BROKER_PORT,
        help=f"broker port written into the node config (default: {DEFAULT_BROKER_PORT})",
    )
    parser.add_argument(
        "--replace", action="store_true",
        help="give an existing node a new password (its old config stops working)",
    )
    return parser


def main_node_add(argv: list[str]) -> int:
    """``sledhub node add NAME [...]``: print the node config on stdout, the reload hint on stderr.

    Returns the exit status: 0 on success, 1 if the login could not be created (the reason is
    printed). Like any argparse CLI it raises ``SystemExit`` (2) on bad arguments and (0) on ``--help``.
    """
    args = _parser().parse_args(argv)
    try:
        creds = add_node(
            args.name,
            passwd_file=args.passwd_file,
            broker_host=args.broker_host or default_broker_host(),
            broker_port=args.port,
            replace=args.replace,
        )
    except NodeAdminError as exc:
        print(f"sledhub node add: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render_node_config(creds))
    sys.stdout.flush()
    print(f"sledhub node add: login {creds.username!r} added to {args.passwd_file}; {RELOAD_HINT}",
          file=sys.stderr)
    return 0
