"""The garbage collector's pauses are timed, and the start-up heap is kept out of its walks
(``server/gc_tuning.py``)."""

from __future__ import annotations

import gc
import threading
import weakref

from server.gc_tuning import YOUNG_THRESHOLD, GcPauses, MiddleCollections, freeze_startup_heap, tune_collector


class _Clock:
    """Advances 3 ms per reading: every collection takes 'exactly' 3 ms."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.003
        return self.t


def test_every_collection_is_counted_with_its_pause():
    pauses = GcPauses(clock=_Clock())
    pauses.install()
    try:
        gc.collect(2)
        gc.collect(0)
        snap = pauses.snapshot()
    finally:
        pauses.uninstall()
    assert snap["collections"][2] >= 1 and snap["collections"][0] >= 1
    n = sum(snap["collections"])
    assert snap["pause_total_ms"] == round(3.0 * n, 1)
    assert snap["pause_max_ms"] == 3.0
    gc.collect(2)  # uninstalled: no longer counted
    assert pauses.snapshot()["collections"] == snap["collections"]


def test_install_twice_counts_once():
    pauses = GcPauses(clock=_Clock())
    pauses.install()
    pauses.install()
    try:
        assert gc.callbacks.count(pauses._callback) == 1
        gc.collect(2)
    finally:
        pauses.uninstall()
    assert gc.callbacks.count(pauses._callback) == 0
    assert pauses.snapshot()["collections"][2] == 1


def test_a_stop_without_its_start_is_ignored():
    """Installed while a collection ran (the collector can release the GIL in a finalizer): its first
    callback is a ``stop``, with no start to measure from."""
    pauses = GcPauses(clock=_Clock())
    pauses._callback("stop", {"generation": 2})
    assert pauses.snapshot()["collections"] == [0, 0, 0]
    assert pauses.snapshot()["pause_max_ms"] == 0.0
    pauses._callback("start", {"generation": 0})
    pauses._callback("stop", {"generation": 0})
    pauses._callback("stop", {"generation": 0})  # a second stop: no start of its own
    assert pauses.snapshot()["collections"] == [1, 0, 0]


def test_a_collection_inside_snapshot_does_not_hang_it():
    """Every allocation may start a collection, ``snapshot``'s own included; the callback then runs
    inside it, on the same thread (a lock held by ``snapshot`` and wanted by the callback hung both,
    and the collector with them)."""
    pauses = GcPauses()
    thresholds = gc.get_threshold()
    pauses.install()
    gc.set_threshold(1)  # a collection at (nearly) every allocation
    try:
        worker = threading.Thread(target=lambda: [pauses.snapshot() for _ in range(300)], daemon=True)
        worker.start()
        worker.join(20)
        assert not worker.is_alive(), "snapshot() hung in a collection"
    finally:
        gc.set_threshold(*thresholds)
        pauses.uninstall()
    assert pauses.snapshot()["collections"][0] > 0


def test_the_frozen_count_is_the_one_taken_at_start_up_not_walked_again_per_snapshot():
    pauses = GcPauses()
    assert pauses.snapshot()["frozen"] == 0
    pauses.frozen = 61_234  # what sledhub serve stores from freeze_startup_heap()
    assert pauses.snapshot()["frozen"] == 61_234


def test_the_young_threshold_is_raised_and_the_older_ones_kept():
    before = gc.get_threshold()
    try:
        assert tune_collector() == (YOUNG_THRESHOLD, before[1], before[2])
        assert GcPauses().snapshot()["threshold"] == [YOUNG_THRESHOLD, before[1], before[2]]
    finally:
        gc.set_threshold(*before)


def test_the_middle_generations_are_collected_at_least_every_period_of_hub_time():
    asked: list[int] = []
    middle = MiddleCollections(every_s=60, collect=asked.append)
    assert middle.tick(5_000_000) is False           # the clock starts at the first tick
    assert middle.tick(64_999_999) is False
    assert middle.tick(65_000_000) is True
    assert middle.tick(100_000_000) is False
    assert middle.tick(125_000_000) is True
    assert asked == [1, 1] and middle.collections == 2


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_a_middle_collection_frees_a_garbage_cycle_the_raised_threshold_would_keep():
    before = gc.get_threshold()
    try:
        tune_collector()
        gc.collect()
        node = _Node()
        ref = weakref.ref(node)
        del node
        assert ref() is not None  # garbage, waiting for a collection the threshold is far from
        middle = MiddleCollections(every_s=60)
        middle.tick(0)
        assert middle.tick(60_000_000) is True
        assert ref() is None
    finally:
        gc.set_threshold(*before)


def test_frozen_objects_are_out_of_the_collectors_generations():
    keep = [[i] for i in range(50_000)]  # long-lived containers, like a hub's modules and app
    try:
        frozen = freeze_startup_heap()
        assert frozen >= len(keep)
        assert gc.get_freeze_count() == frozen
        walked = {id(o) for o in gc.get_objects()}  # what a full collection walks
        assert not any(id(x) in walked for x in keep)
        cycle: list = []  # made after the freeze: still collected
        cycle.append(cycle)
        del cycle
        assert gc.collect(2) >= 1
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
