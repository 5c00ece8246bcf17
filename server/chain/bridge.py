"""``sledhub chain join``: writes this gym's Mosquitto bridge drop-in from
``deploy/mosquitto/sledhub-bridge.conf.template`` (gym id, central address, the gym's credentials,
TLS with the system's CA store) and prints the ``[chain]`` lines for ``/etc/sledhub/sledhub.toml``.

    sledhub chain join --gym-id gym-amsterdam --club "Amsterdam Noord" \\
        --central mqtt.example-chain.net:8883 --password-file /etc/sledhub/chain-password

The bridge carries this gym's results up (``out``) and the other gyms' results down (``in``), nothing
else: no node topic, no command (``docs/scaling.md``). ``--plain`` (no TLS) is for a central broker on
the same machine or a private network only (the tests use it on loopback).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from string import Template

from server.chain.record import GYM_ID

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "deploy" / "mosquitto" / "sledhub-bridge.conf.template"
DROPIN = "/etc/mosquitto/conf.d/sledhub-bridge.conf"
CA_PATH = "/etc/ssl/certs"
TLS_LINES = ("# TLS, the server's certificate and name checked against the CA store in {ca_path}.\n"
             "bridge_capath {ca_path}\nbridge_tls_version tlsv1.2\nbridge_insecure false")
PLAIN_LINES = "# no TLS (--plain): only for a central broker on this machine or a private network"


class JoinError(ValueError):
    """A bad argument to ``chain join``; the message says which and why."""


def render_bridge(gym_id: str, central: str, password: str, *, tls: bool = True, ca_path: str = CA_PATH,
                  restart_timeout: str = "2 60", template: Path = TEMPLATE) -> str:
    """The drop-in's text. ``central`` is ``HOST:PORT``; ``ca_path`` a folder of CA certificates named by
    their hash (the system's store, or a chain's own CA after ``openssl rehash``); ``restart_timeout``
    Mosquitto's ``base cap`` (s)."""
    if tls and (not ca_path.startswith("/") or any(c.isspace() for c in ca_path)):
        raise JoinError(f"the CA folder must be an absolute path without spaces, got {ca_path!r}")
    if not GYM_ID.fullmatch(gym_id):
        raise JoinError(f"gym id {gym_id!r} must match {GYM_ID.pattern} (it is the gym's central login)")
    host, sep, port = central.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
        raise JoinError(f"central address must be HOST:PORT, got {central!r}")
    if not password or any(c.isspace() for c in password):
        raise JoinError("the gym's central password must be one word, not empty")
    return Template(template.read_text(encoding="utf-8")).substitute(
        gym_id=gym_id, central=f"{host}:{port}", password=password, restart_timeout=restart_timeout,
        tls=TLS_LINES.format(ca_path=ca_path) if tls else PLAIN_LINES)


def chain_settings(gym_id: str, club: str) -> str:
    """The ``[chain]`` table for the hub's config file."""
    quoted = club.replace("\\", "\\\\").replace('"', '\\"')
    return f'[chain]\ngym_id = "{gym_id}"\nclub = "{quoted}"\n'


def add_join_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``sledhub chain join``."""
    p.add_argument("--gym-id", required=True, help="this gym's id in the chain (its central login)")
    p.add_argument("--club", default="", help="club name shown beside this gym's athletes (default: the gym id)")
    p.add_argument("--central", required=True, help="central broker HOST:PORT (TLS, usually port 8883)")
    p.add_argument("--password-file", required=True, help="file whose first line is this gym's central password")
    p.add_argument("--out", default=DROPIN, help=f"where to write the drop-in (default {DROPIN})")
    p.add_argument("--capath", default=CA_PATH,
                   help=f"folder of trusted CA certificates (default {CA_PATH}, the system's store; a chain with "
                        "its own CA: a folder holding it, prepared with 'openssl rehash')")
    p.add_argument("--plain", action="store_true", help="no TLS (a central broker on a private network only)")


def run_join(args: argparse.Namespace) -> int:
    """Write the drop-in (mode 0640) and print the ``[chain]`` settings; 2 on a bad argument."""
    try:
        password = Path(args.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        text = render_bridge(args.gym_id, args.central, password, tls=not args.plain, ca_path=args.capath)
    except (OSError, IndexError) as exc:
        print(f"sledhub chain join: cannot read the password file {args.password_file}: {exc}", file=sys.stderr)
        return 2
    except JoinError as exc:
        print(f"sledhub chain join: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(out, 0o640)
    print(f"wrote {out}; restart mosquitto (sudo systemctl restart mosquitto) and add to /etc/sledhub/sledhub.toml:\n")
    print(chain_settings(args.gym_id, args.club or args.gym_id))
    return 0
