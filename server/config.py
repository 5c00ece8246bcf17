"""Hub configuration: one TOML file, defaults in code, validated at start-up.

Every option is documented where it is defined. Load with :func:`load_config`; a broken file raises
:class:`ConfigError` whose message names the file, the key and what is wrong.

Example (``deploy/sledhub.toml``)::

    [http]
    host = "0.0.0.0"
    port = 8080

    [mqtt]
    host = "127.0.0.1"
    port = 1883
    username = "hub"
    password_file = "/etc/sledhub/mqtt-password"

    [store]
    path = "/var/lib/sledhub/sledhub.db"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_bridge.tomlfile import TomlFileError, read_toml
from firmware_bridge.wire import ID_PATTERN, is_id

REPO_WEB_ROOT = Path(__file__).resolve().parent.parent / "web"


class ConfigError(ValueError):
    """The configuration is invalid; the message says where and why."""


@dataclass(frozen=True)
class HttpConfig:
    host: str = "0.0.0.0"
    """Address the web server binds to; ``0.0.0.0`` serves the whole LAN."""
    port: int = 8080
    """TCP port of the wall display, tablet pages and API."""
    web_root: str = str(REPO_WEB_ROOT)
    """Folder holding ``static/``, the page templates and ``node_modules/`` (browser libraries)."""
    ping_interval_s: int = 5
    """Socket.IO heartbeat (s): a page notices a dead hub (and shows its offline banner) within ~2x this."""
    secret_key_file: str = ""
    """File holding the session-cookie secret; empty = a random secret per start (sign-ins are lost on restart)."""


@dataclass(frozen=True)
class MqttConfig:
    host: str = "127.0.0.1"
    """Broker host. Ignored when the hub manages its own broker (``sledhub demo``)."""
    port: int = 1883
    """Broker TCP port."""
    username: str = ""
    """Broker user name of the hub (the secured drop-in uses ``hub``); empty = anonymous."""
    password_file: str = ""
    """File whose first line is the hub's broker password."""
    keepalive_s: int = 10
    """MQTT keepalive in seconds; a node is offline at most 1.5 x its own keepalive after it vanishes."""
    client_id: str = "hub"
    """MQTT client id of the hub: its broker username (the secured drop-in sets
    ``use_username_as_clientid``, so the broker uses the username whatever is asked for; keep them
    equal so the id is the same with and without that broker)."""


@dataclass(frozen=True)
class StoreConfig:
    path: str = "var/sledhub.db"
    """SQLite database file (WAL mode). Relative paths are relative to the working directory."""


@dataclass(frozen=True)
class TimingConfig:
    lateness_ms: int = 300
    """How late (ms) an event may arrive and still count in order; later ones are reported as late."""
    clock_ping_interval_s: float = 2.0
    """How often the hub measures each node's clock offset (s)."""
    frame_interval_ms: int = 40
    """Live telemetry frames per station are coalesced to one per this interval (ms): 40 ms = 25 frames/s,
    a margin above the 20 frames/s a smooth wall needs, so a skipped frame or a stalled tick does not
    take a station below 20 (``make bench``: 19.8 frames/s with 50 ms on a busy machine)."""


@dataclass(frozen=True)
class ChainConfig:
    """A chain of gyms sharing boards through Mosquitto bridges (``docs/scaling.md``, ``server/chain/``).
    Off while ``gym_id`` is empty: then nothing is published or received."""

    gym_id: str = ""
    """This gym's id in the chain (a node-style id, ``firmware_bridge.wire.ID_PATTERN``): its login on the
    central broker and the first part of every result id it publishes (``<gym_id>:<attempt_id>:<version>``)."""
    club: str = ""
    """The club name chain boards show beside this gym's athletes (empty = the gym id)."""
    reconcile_from: str = ""
    """Space-separated base URLs of other hubs (``http://gym-b.vpn:8080``) asked every
    ``reconcile_interval_s`` for ``GET /api/results?since=`` (fills what the brokers' queues lost);
    empty = no reconciliation."""
    reconcile_interval_s: float = 300.0
    """Seconds between two reconciliation rounds (the first runs at start)."""


@dataclass(frozen=True)
class Config:
    http: HttpConfig = field(default_factory=HttpConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}


def _build_section(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table, got {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown option '{key}' (known: {', '.join(sorted(known))})")
        default = known[key].default
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != isinstance(default, bool):
            raise ConfigError(f"{where}.{key}: expected {expected.__name__}, got {type(value).__name__} {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: dict, source: str = "<config>") -> Config:
    """Build and validate a :class:`Config` from parsed TOML data."""
    sections = {}
    for name, values in data.items():
        cls = _section_class(name)
        if cls is None:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(_SECTIONS)})")
        sections[name] = _build_section(cls, values, f"{source} [{name}]")
    cfg = Config(**sections)
    _check_ranges(cfg, source)
    return cfg


def _section_class(name: str) -> type | None:
    return {"http": HttpConfig, "mqtt": MqttConfig, "store": StoreConfig, "timing": TimingConfig,
            "chain": ChainConfig}.get(name)


def _check_ranges(cfg: Config, source: str) -> None:
    for where, port in (("http.port", cfg.http.port), ("mqtt.port", cfg.mqtt.port)):
        if not 0 < port < 65536:
            raise ConfigError(f"{source}: {where} must be 1..65535, got {port}")
    if not 0 <= cfg.timing.lateness_ms <= 5000:
        raise ConfigError(f"{source}: timing.lateness_ms must be 0..5000, got {cfg.timing.lateness_ms}")
    if not 10 <= cfg.timing.frame_interval_ms <= 1000:
        raise ConfigError(f"{source}: timing.frame_interval_ms must be 10..1000")
    if cfg.chain.gym_id and not is_id(cfg.chain.gym_id):
        raise ConfigError(f"{source}: chain.gym_id must match {ID_PATTERN}, got {cfg.chain.gym_id!r}")
    if len(cfg.chain.club) > 60:
        raise ConfigError(f"{source}: chain.club must be at most 60 characters")
    if not 5.0 <= cfg.chain.reconcile_interval_s <= 86400.0:
        raise ConfigError(f"{source}: chain.reconcile_interval_s must be 5..86400")
    for url in cfg.chain.reconcile_from.split():
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{source}: chain.reconcile_from: {url!r} must start with http:// or https://")
    if cfg.mqtt.password_file and not Path(cfg.mqtt.password_file).is_file():
        raise ConfigError(f"{source}: mqtt.password_file {cfg.mqtt.password_file!r} does not exist")


def load_config(path: str | Path | None) -> Config:
    """Load the TOML file at ``path`` (``None`` = all defaults)."""
    if path is None:
        return Config()
    try:
        data = read_toml(path)
    except TomlFileError as exc:
        raise ConfigError(str(exc)) from None
    return config_from_dict(data, str(path))


def read_password(cfg: MqttConfig) -> str | None:
    """The hub's broker password from ``password_file`` (first line), or None."""
    if not cfg.password_file:
        return None
    return Path(cfg.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
