"""``sledhub-bridge --config node.toml [--mock]``: run a sensor node until SIGINT or SIGTERM.

Without ``--mock`` the pins come from gpiozero's default pin factory (lgpio on a Raspberry Pi; the
``GPIOZERO_PIN_FACTORY`` environment variable picks another). ``--mock`` is a dry run on gpiozero's
``MockFactory``: every load cell gets a fake HX711 reading zero, beams and encoders stay idle, and the
outbox is kept in memory, so a config can be checked against a broker from any machine.

Exit status: 0 after a clean stop, 2 for a bad config or arguments, 1 if the pins cannot be opened.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from firmware_bridge import __version__
from firmware_bridge.config import ConfigError, NodeConfig, load_config

log = logging.getLogger("sledhub.bridge")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sledhub-bridge", description="Run a sledhub sensor node.")
    parser.add_argument("--config", required=True, help="node config file (TOML), e.g. /etc/sledhub/node.toml")
    parser.add_argument("--mock", action="store_true",
                        help="dry run on mock pins (fake HX711s reading zero, in-memory outbox)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--version", action="version", version=f"sledhub-bridge {__version__}")
    return parser


def _mock_factory_with_fakes(config: NodeConfig) -> tuple[Any, list[Any]]:
    from firmware_bridge.fakes import FakeHX711, mock_factory

    factory = mock_factory()
    fakes = []
    for sensor in config.sensors:
        if sensor.kind == "load_cell":
            fakes.append(FakeHX711(factory, sensor.pins["dout"], sensor.pins["sck"],
                                   source=lambda: 0, offset_counts=sensor["offset_counts"] or 0,
                                   scale_counts_per_n=sensor["scale_counts_per_n"],
                                   rate_hz=sensor.rate_hz or 10, rate_pin=sensor.pins.get("rate_pin")))
    return factory, fakes


def _real_factory() -> Any:
    from gpiozero import Device

    Device.ensure_pin_factory()
    return Device.pin_factory


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sledhub-bridge`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from firmware_bridge.node import Node

    fakes: list[Any] = []
    try:
        if args.mock:
            factory, fakes = _mock_factory_with_fakes(config)
        else:
            factory = _real_factory()
        node = Node(config, pin_factory=factory, outbox_path=":memory:" if args.mock else None)
    except Exception as exc:  # pins busy, no GPIO chip, unwritable outbox...
        print(f"sledhub-bridge: cannot start node {config.node_id!r}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for fake in fakes:
            fake.start()
        node.start()
        log.info("node %s (boot %s) running with %d sensor(s); broker %s:%d", config.node_id, node.boot_id,
                 len(node.sensors), config.mqtt.host, config.mqtt.port)
        while not stop.wait(1.0):
            pass
        log.info("stopping node %s", config.node_id)
    finally:
        node.stop()
        for fake in fakes:
            fake.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
