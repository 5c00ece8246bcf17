import threading

import pytest

from server.pipeline import Pipeline
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
