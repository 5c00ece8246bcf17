from server.router import Router
from server.store.stations import Binding, Station


def _router(offsets):
    r = Router(lambda node, boot, t_node: offsets.get((node, boot)))
    r.load([Station("lane1", "lane", "L", {}, (Binding("finish", "n1", "f"),))])
    return r


def test_events_take_their_boot_offset_and_unbound_sensors_are_counted():
    r = _router({("n1", "b2"): 5_000_000})
    ev = r.event("n1", "f", "break", 1_000, rx_us=9_000_000, boot_id="b2")
    assert (ev.station_id, ev.role, ev.t_us) == ("lane1", "finish", 5_001_000)
    assert r.event("n1", "other", "break", 1, rx_us=2) is None and r.unbound == 1


def test_without_a_measured_offset_the_smallest_apparent_delay_is_used():
    r = _router({})
    first = r.event("n1", "f", "break", 1_000, rx_us=11_000, boot_id="b1")   # 10 ms in transit
    second = r.event("n1", "f", "break", 2_000, rx_us=4_000, boot_id="b1")   # 2 ms: a better estimate
    third = r.event("n1", "f", "break", 3_000, rx_us=50_000, boot_id="b1")   # a slow one does not worsen it
    assert first.t_us == 11_000 and second.t_us == 4_000 and third.t_us == 5_000
    assert r.provisional == 3


def test_a_telemetry_batch_is_routed_with_one_offset():
    r = Router(lambda node, boot, t_node: 100)
    r.load([Station("sled1", "sled", "S", {}, (Binding("wheel", "n2", "w"),))])
    assert r.batch_route("n2", "w", [(10, 0.5, 100), (20, 0.55, 110)], rx_us=0, boot_id="b") == ("sled1", "wheel", 100)
    assert r.batch_route("n2", "w", [], rx_us=0, boot_id="b") is None
    assert r.batch_route("n9", "w", [(10, 0.5, 100)], rx_us=0) is None and r.unbound == 1
