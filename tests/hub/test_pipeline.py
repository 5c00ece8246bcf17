import threading

import pytest

from server.hub.pipeline import Pipeline
from tests.support.waiting import wait_for


def test_messages_calls_and_tickers_run_on_one_thread():
    seen, threads, ticks = [], set(), []

    def handler(topic, payload, rx_us):
        threads.add(threading.current_thread().name)
        if topic == "boom":
            raise ValueError("bad")
        seen.append((topic, payload, rx_us))

    p = Pipeline(handler, clock_us=lambda: 42, tick_s=0.005)
    p.add_ticker(lambda now: ticks.append(now))
    p.start()
    try:
        p.submit("a", b"1", 1)
        p.submit("boom", b"", 2)
        p.submit("b", b"2", 3)
        assert p.run_sync(lambda: threading.current_thread().name) == "sledhub-pipeline"
        assert seen == [("a", b"1", 1), ("b", b"2", 3)]
        assert p.errors == 1 and p.handled == 2
        with pytest.raises(ZeroDivisionError):
            p.run_sync(lambda: 1 / 0)
        wait_for(lambda: ticks, what="a tick")
        assert ticks[0] == 42 and threads == {"sledhub-pipeline"}
    finally:
        p.stop()


def test_a_message_flood_does_not_run_the_tickers_per_message():
    """Tickers keep their cadence (one per tick_s of real time) however messages trickle in."""
    import time

    ticks, handled = [], []
    p = Pipeline(lambda topic, payload, rx_us: handled.append(rx_us), clock_us=lambda: 0, tick_s=0.2)
    p.add_ticker(lambda now: ticks.append(time.monotonic()))
    p.start()
    t0 = time.monotonic()
    try:
        for i in range(3000):
            p.submit("t", b"", i)
            if i % 10 == 0:
                time.sleep(0)  # let the worker drain the queue in many small batches
        wait_for(lambda: len(handled) == 3000, what="every message handled")
        elapsed = time.monotonic() - t0
        assert handled == list(range(3000))
        assert len(ticks) <= elapsed / 0.2 + 2
        wait_for(lambda: len(ticks) >= 1, what="the tickers still run")
    finally:
        p.stop()


def test_while_a_backlog_is_worked_off_the_tickers_see_how_far_it_got():
    """Messages queued behind a full batch were received later than the ones handled: time-keeping
    tickers (the engine's watermark) must not run past them (``behind_rx_us``)."""
    seen = []
    p = Pipeline(lambda topic, payload, rx_us: None, clock_us=lambda: 10_000_000, tick_s=0.0, max_batch=2)
    p.add_ticker(lambda now: seen.append((now, p.behind_rx_us)))
    for rx in (1, 2, 3, 4, 5):
        p.submit("t", b"", rx)
    p.start()
    try:
        wait_for(lambda: p.handled == 5 and seen and seen[-1][1] is None, what="the backlog worked off")
        behind = [b for _, b in seen if b is not None]
        assert behind[:2] == [2, 4]
        assert all(now == 10_000_000 for now, _ in seen)
    finally:
        p.stop()


def test_a_batch_read_together_is_handled_in_order_with_its_receipt_time():
    """``submit_batch`` (the MQTT fast path's hand-over): one queue item, every message handled in
    order with the batch's ``rx_us``, a failing one counted without losing the rest, and the backlog
    bound (``behind_rx_us``) counts a batch's messages."""
    seen, ticks = [], []

    def handler(topic, payload, rx_us):
        if topic == "boom":
            raise ValueError("bad")
        seen.append((topic, payload, rx_us))

    p = Pipeline(handler, clock_us=lambda: 10_000_000, tick_s=0.0, max_batch=3)
    p.add_ticker(lambda now: ticks.append(p.behind_rx_us))
    p.submit("a", b"0", 1)
    p.submit_batch([("b", b"1"), ("boom", b""), ("c", b"2")], 5)
    p.submit_batch([], 6)  # nothing: not even a queue item
    p.submit("d", b"3", 9)
    assert p.backlog == 3
    p.start()
    try:
        wait_for(lambda: p.handled + p.errors == 5 and ticks and ticks[-1] is None, what="all handled")
        assert seen == [("a", b"0", 1), ("b", b"1", 5), ("c", b"2", 5), ("d", b"3", 9)]
        assert p.errors == 1 and p.handled == 4
        assert ticks[0] == 5  # 4 messages ≥ max_batch 3: the ticker saw how far the backlog got
    finally:
        p.stop()
