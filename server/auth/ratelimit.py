"""Sign-in rate limit: at most ``max_failures`` failed sign-ins per ``window_s`` per client address and
per user name (defaults: 5 per 60 s). Past that, sign-ins for that address or name are refused
(HTTP 429 with ``Retry-After``) until the oldest failure leaves the window; a correct PIN is refused
too while locked. A success clears the name's and the address's failures. Kept in memory: a restart
clears it (a 4-digit PIN still needs ~33 h of guessing per name at 5 per minute).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Callable, Iterable

Key = tuple[str, str]
"""``("addr", "192.168.1.20")`` or ``("user", "dana")``."""

MAX_KEYS = 10_000


class SignInLimiter:
    def __init__(self, clock: Callable[[], float], max_failures: int = 5, window_s: float = 60.0):
        self._clock = clock
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, keys: Iterable[Key]) -> int:
        """Seconds until a sign-in for ``keys`` is allowed again (0 = allowed now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._fresh(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[-self.max_failures] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: Iterable[Key]) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._prune(now)
            for key in keys:
                self._fresh(key, now).append(now)

    def succeeded(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _fresh(self, key: Key, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._fresh(key, now):
                del self._failures[key]
