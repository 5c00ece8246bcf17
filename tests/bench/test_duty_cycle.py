"""bench.duty_cycle measures the same work hot and in bursts, and reports each against the hot loop."""

from bench.duty_cycle import measure


def test_each_row_is_the_same_work_against_the_hot_loop():
    rows = measure(total_lookups=4000, plan=((100, 0.0005), (400, 0.0)))
    assert [(r["unit"], r["sleep_ms"]) for r in rows] == [(1000, 0.0), (100, 0.5), (400, 0.0)]
    assert rows[0]["factor"] == 1.0
    assert all(r["cpu_s"] > 0 and r["factor"] > 0 for r in rows)
