"""``sledhub`` command line: ``demo``, ``serve`` and ``node add``.

    sledhub demo [--port 8080] [--host 127.0.0.1]  hub + managed Mosquitto + simulated nodes + demo class
    sledhub serve [--config FILE] [--broker HOST:PORT] [--managed-broker] [--port N]
    sledhub node add NAME [--passwd-file F]     broker credentials and a node config for a new node
    sledhub chain join --gym-id ID --central HOST:PORT --password-file F   bridge this gym to a chain
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from server.config import Config, ConfigError, load_config

log = logging.getLogger("sledhub")

DEMO_HOST = "127.0.0.1"
"""``sledhub demo`` listens on loopback unless ``--host`` says otherwise: its instructor PIN is public."""


def _broker_arg(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sledhub", description="Backward-training warm-up hub.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a simulated class: hub, private broker, 2 sleds and 2 lanes")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    demo.add_argument("--host", default=DEMO_HOST,
                      help=f"HTTP bind address (default {DEMO_HOST}: this machine only, since the demo's "
                           "sign-in is the published PIN 1234; --host 0.0.0.0 shows it to the LAN)")
    demo.add_argument("--db", help="SQLite file (default: a temporary file, gone after the demo)")
    demo.add_argument("--no-autostart", action="store_true", help="wait for the instructor to start the class")

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--config", help="TOML config file (default: built-in defaults)")
    serve.add_argument("--broker", type=_broker_arg, help="use this broker HOST:PORT instead of the config's")
    serve.add_argument("--managed-broker", action="store_true", help="start a private Mosquitto on loopback")
    serve.add_argument("--port", type=int, help="HTTP port (overrides the config)")
    serve.add_argument("--host", help="HTTP bind address (overrides the config)")

    node = sub.add_parser("node", help="manage sensor nodes")
    node_sub = node.add_subparsers(dest="node_command", required=True)
    add = node_sub.add_parser("add", help="create broker credentials for a node and print its config")
    add.add_argument("rest", nargs=argparse.REMAINDER, help="NAME [options]; see 'sledhub node add -- --help'")

    chain = sub.add_parser("chain", help="join a chain of gyms (shared boards through a central broker)")
    chain_sub = chain.add_subparsers(dest="chain_command", required=True)
    from server.chain.bridge import add_join_arguments
    add_join_arguments(chain_sub.add_parser("join", help="write the Mosquitto bridge drop-in; print the [chain] settings"))

    user = sub.add_parser("user", help="manage sign-ins (admins, instructors)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    uadd = user_sub.add_parser("add", help="create a user (or reset a PIN) and print its PIN once")
    uadd.add_argument("rest", nargs=argparse.REMAINDER,
                      help="NAME [--role R] [--config F | --db F]; see 'sledhub user add -- --help'")
    return p


def _install_sigterm() -> None:
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)


def run_hub(config: Config, *, broker: tuple[str, int] | None, managed: bool, host: str, port: int,
            demo: bool = False, autostart: bool = True) -> int:
    """Start everything, serve until Ctrl-C/SIGTERM, then stop everything (no stray process).

    Exit status: 0 after a clean stop, 2 for a bad argument or port, 3 (``EXIT_STORE``) when the
    database cannot be used (damaged, not SQLite, read-only, disk full): one line on stderr says which
    file and why, and systemd does not restart (``RestartPreventExitStatus``).
    """
    from server.store.errors import EXIT_STORE, StoreError
    try:
        return _run_hub(config, broker=broker, managed=managed, host=host, port=port, demo=demo,
                        autostart=autostart)
    except StoreError as exc:
        print(f"sledhub: {exc}", file=sys.stderr)
        return EXIT_STORE


def _run_hub(config: Config, *, broker: tuple[str, int] | None, managed: bool, host: str, port: int,
             demo: bool, autostart: bool) -> int:
    from server.process_tuning import tune_process
    log.debug("process tuning: %s", tune_process())
    try:
        from server.app import create_app
    except ModuleNotFoundError as exc:  # a sensor node's install (`pip install sledhub`) has no web stack
        print(f"sledhub: the hub needs its extra, pip install 'sledhub[hub]' ({exc})", file=sys.stderr)
        return 2
    from server.mqtt.broker import BrokerError, ManagedBroker

    with ExitStack() as stack:
        if managed:
            try:
                managed_broker = stack.enter_context(ManagedBroker())
            except BrokerError as exc:
                print(f"sledhub: {exc}", file=sys.stderr)
                return 2
            broker = (managed_broker.host, managed_broker.port)
            print(f"managed Mosquitto on {managed_broker.address}")
        app = create_app(config, broker=broker)
        stack.callback(app.stop)
        if not demo:
            _backup_at_start(app.db)
        from server.auth.users import bootstrap_hint, ensure_demo_admin, ensure_demo_user
        if demo:
            from server.sim.demo import attach_demo
            attach_demo(app, broker, autostart=autostart)
            print(ensure_demo_user(app.db))
            print(ensure_demo_admin(app.db))
        elif (hint := bootstrap_hint(app.db)) is not None:
            print(hint)
        try:
            bound = app.bind(host, port)
        except OSError as exc:
            print(f"sledhub: cannot listen on {host}:{port}: {exc} (try --port)", file=sys.stderr)
            return 2
        log.debug("garbage collector: %d start-up objects frozen", app.prepare_collector())
        app.start()
        print(banner(host, bound), flush=True)
        try:
            app.serve()  # returns on Ctrl-C or SIGTERM (server/web/serving.py)
        except KeyboardInterrupt:
            pass
        print("\nstopping…", flush=True)
    return 0


def banner(host: str, port: int) -> str:
    """What ``run_hub`` prints once it listens: the bind address, then the pages' addresses."""
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    reach = "every interface (the whole LAN)" if host in ("0.0.0.0", "::") else "this address only"
    return (f"listening on {host}:{port} ({reach})\n"
            f"sledhub is up:\n  wall display  http://{shown}:{port}/display\n"
            f"  instructor    http://{shown}:{port}/instructor\n  setup         http://{shown}:{port}/setup\n"
            f"  health        http://{shown}:{port}/api/health\nCtrl-C stops everything.")


def _backup_at_start(db) -> None:
    """A copy of the database that passed the start-up checks (docs/deploy.md, "Backups"); a failure
    to take it is logged, it does not stop the hub."""
    import sqlite3
    from server.store.backup import take_backup
    try:
        log.info("database backed up to %s", take_backup(db))
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not back up the database at start-up: %s", exc)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _install_sigterm()
    if args.command == "node":
        from server.mqtt.nodeadmin import main_node_add
        return main_node_add([a for a in args.rest if a != "--"])
    if args.command == "chain":
        from server.chain.bridge import run_join
        return run_join(args)
    if args.command == "user":
        from server.auth.cli import main_user_add
        return main_user_add([a for a in args.rest if a != "--"])
    if args.command == "demo":
        db = args.db or str(Path(tempfile.mkdtemp(prefix="sledhub-demo-")) / "demo.db")
        from dataclasses import replace
        base = Config()
        config = replace(base, store=replace(base.store, path=db))
        return run_hub(config, broker=None, managed=True, host=args.host, port=args.port, demo=True,
                       autostart=not args.no_autostart)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"sledhub: {exc}", file=sys.stderr)
        return 2
    return run_hub(config, broker=args.broker, managed=args.managed_broker,
                   host=args.host or config.http.host, port=args.port or config.http.port)


if __name__ == "__main__":
    sys.exit(main())
