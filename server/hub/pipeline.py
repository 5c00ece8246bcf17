"""The hub's single worker thread: every message, command and timer runs here, one at a time.

Inputs arrive on one queue: MQTT messages from paho's thread (``submit``, or ``submit_batch`` for
several read together), and calls from Flask and
Socket.IO handlers (``call``), which return a :class:`concurrent.futures.Future`. The thread owns the
timing engine, so the engine needs no locks. Every ``tick_s`` of real time (between batches of
inputs, never more often) it runs the registered tickers with the hub clock's ``now_us``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

log = logging.getLogger(__name__)

Ticker = Callable[[int], None]
MessageHandler = Callable[[str, bytes, int], None]

_STOP = object()


class _Batch:
    """Messages paho's thread read together (``Pipeline.submit_batch``)."""

    __slots__ = ("messages", "rx_us")

    def __init__(self, messages: list[tuple[str, bytes]], rx_us: int):
        self.messages = messages
        self.rx_us = rx_us


class Pipeline:
    """A queue plus one worker thread. ``handler(topic, payload, rx_us)`` processes MQTT messages."""

    def __init__(self, handler: MessageHandler, clock_us: Callable[[], int], tick_s: float = 0.01,
                 max_batch: int = 512):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._handler = handler
        self._clock_us = clock_us
        self._tick_s = tick_s
        self._max_batch = max_batch
        self._tickers: list[Ticker] = []
        self._thread: threading.Thread | None = None
        self.handled = 0
        self.errors = 0
        self.behind_rx_us: int | None = None
        """While a backlog is being worked off (the last batch stopped at ``max_batch``): the receipt time
        of the newest message handled so far, else None. Time-keeping tickers must not run ahead of it:
        messages still queued were received after it, and are not late because the hub was busy."""
        self.wait_result: Callable[[Future, float], Any] = Future.result
        """How :meth:`run_sync` waits for the worker's answer (``future``, timeout in s): the composition
        root gives the web server's, which lets a waiting Socket.IO handler yield to the other pages."""

    def add_ticker(self, ticker: Ticker) -> None:
        """Run ``ticker(now_us)`` on the worker thread at every tick (≈ every ``tick_s``)."""
        self._tickers.append(ticker)

    def submit(self, topic: str, payload: bytes, rx_us: int) -> None:
        """Hand over one MQTT message (any thread; never blocks)."""
        self._queue.put((topic, payload, rx_us))

    def submit_batch(self, messages: list[tuple[str, bytes]], rx_us: int) -> None:
        """Hand over several MQTT messages ``(topic, payload)`` received together at ``rx_us``, in order
        (any thread; never blocks): one queue item instead of one per message."""
        if messages:
            self._queue.put(_Batch(messages, rx_us))

    def call(self, fn: Callable[[], Any]) -> Future:
        """Run ``fn()`` on the worker thread; the future holds its result or exception."""
        fut: Future = Future()
        self._queue.put((fn, fut))
        return fut

    def run_sync(self, fn: Callable[[], Any], timeout_s: float = 5.0) -> Any:
        """``call(fn)`` and wait for its result (raises what ``fn`` raised). Before ``start()`` (or after
        ``stop()``) nothing else runs the pipeline's work, so ``fn`` runs right here."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn()
        return self.wait_result(self.call(fn), timeout_s)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on the worker thread without waiting: at once when called there (or before
        ``start()``), else queued behind what is already queued (errors are logged and counted)."""
        def run() -> None:
            try:
                fn()
            except Exception:
                self.errors += 1
                log.exception("posted call %r failed", fn)
        if self._thread is None or threading.current_thread() is self._thread:
            run()
        else:
            self.call(run)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sledhub-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        # Tickers run every tick_s (real time), not after every message: under a message flood they
        # would otherwise run thousands of times a second for nothing (bench/README.md, "hot path").
        next_tick = time.monotonic() + self._tick_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = None
            count = 0
            last_rx = self.behind_rx_us
            self.behind_rx_us = None
            while item is not None:
                if item is _STOP:
                    return
                if type(item) is _Batch:
                    self._dispatch_batch(item)
                    last_rx = item.rx_us
                    count += len(item.messages)
                else:
                    self._dispatch(item)
                    if len(item) == 3:
                        last_rx = item[2]
                    count += 1
                if count >= self._max_batch:
                    self.behind_rx_us = last_rx if last_rx is not None else self._clock_us()
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if now >= next_tick:
                self._tick()
                next_tick += self._tick_s
                if next_tick <= now:  # fell behind (a long batch): no burst of catch-up ticks
                    next_tick = now + self._tick_s

    def _dispatch(self, item: tuple) -> None:
        if len(item) == 2:
            fn, fut = item
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as exc:  # handed back to the caller
                    fut.set_exception(exc)
            return
        try:
            self._handler(*item)
            self.handled += 1
        except Exception:
            self.errors += 1
            log.exception("message handler failed on %s", item[0])

    def _dispatch_batch(self, batch: _Batch) -> None:
        handler, rx_us = self._handler, batch.rx_us
        for topic, payload in batch.messages:
            try:
                handler(topic, payload, rx_us)
                self.handled += 1
            except Exception:
                self.errors += 1
                log.exception("message handler failed on %s", topic)

    def _tick(self) -> None:
        now_us = self._clock_us()
        for ticker in self._tickers:
            try:
                ticker(now_us)
            except Exception:
                self.errors += 1
                log.exception("ticker %r failed", ticker)
