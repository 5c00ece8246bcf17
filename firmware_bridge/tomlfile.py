"""Reading a TOML config file: the one reader behind the node's (``firmware_bridge.config``) and the
hub's (``server.config``) loaders, so both report an unreadable or malformed file the same way.
Standard library only; each loader then checks the tables against its own documented options.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class TomlFileError(ValueError):
    """``path`` could not be read or parsed; ``reason`` says why (the message is ``"<path>: <reason>"``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed document at ``path``; :class:`TomlFileError` if it is missing, unreadable or not TOML."""
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise TomlFileError(str(path), "cannot read: config file not found") from None
    except OSError as exc:
        raise TomlFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TomlFileError(str(path), f"not valid TOML: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(str(path), f"not valid TOML: {exc}") from None
