"""Sign-in delays: PIN guessing stays slow, and nobody can lock a user out of their own tablet.

Every sign-in is checked against a few keys and may go ahead only when each of them allows it:

- a device the user has signed in from before (``("device", <token hash>/<user id>)``, see
  :mod:`server.auth.sessions`): only its own key. Failures of the user's name elsewhere do not
  touch it, so the instructor's tablet always gets in with the right PIN;
- any other device: the user name (``("user", name)``) and the client address (``("addr", ip)``).
  The name's key slows guessing however many addresses an attacker uses.

Each key counts its failures in a row. The first :data:`FREE_FAILURES` (5) are free; after that each
further try must wait ``min(2 ** (n - 5), 900)`` s after the last failure (1, 2, 4, … s, then at
most one try per 15 min). So a name takes about 96 guesses a day, and a 4-digit PIN (10,000
values) about 52 days on average to guess, 104 days at worst; a 6-digit PIN centuries. Tries
refused with 429 (while waiting) are not counted. A success clears the keys it was checked
against; a key with no failure for :data:`FORGET_AFTER_S` (24 h) is forgotten.

Kept in memory: a hub restart clears it (an attacker on the LAN cannot restart the hub).
Times are seconds of an injected monotonic clock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

Key = tuple[str, str]
"""``("addr", "192.168.1.20")``, ``("user", "dana")`` or ``("device", "<hash>/<user id>")``."""

FREE_FAILURES = 5
"""Failures in a row a key may have before each further try waits."""
FIRST_DELAY_S = 1.0
"""The wait after the first failure past the free ones; it doubles with each further failure."""
MAX_DELAY_S = 900.0
"""The longest wait between two tries of one key (15 min): at most 96 tries a day."""
FORGET_AFTER_S = 24 * 3600.0
"""A key with no failure for this long starts afresh."""
MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int
    last_s: float


def delay_after_s(failures: int) -> float:
    """Seconds a key must wait after its last failure, having failed ``failures`` times in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(FIRST_DELAY_S * 2 ** (failures - FREE_FAILURES), MAX_DELAY_S)


class SignInLimiter:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._failures: dict[Key, _Failures] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, keys: Iterable[Key]) -> int:
        """Whole seconds until a sign-in checked against ``keys`` may go ahead (0 = now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                entry = self._fresh(key, now)
                if entry is not None:
                    wait = max(wait, entry.last_s + delay_after_s(entry.count) - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: Iterable[Key]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._prune(now)
            for key in keys:
                entry = self._fresh(key, now)
                self._failures[key] = _Failures((entry.count if entry else 0) + 1, now)

    def succeeded(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _fresh(self, key: Key, now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry.last_s >= FORGET_AFTER_S:
            del self._failures[key]
            return None
        return entry

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._fresh(key, now)
