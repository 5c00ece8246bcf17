"""The soak's arithmetic: growth is the RSS slope after the warm-up, times the measured time."""

from __future__ import annotations

import pytest

from bench.soak import Sample, slope_per_s, summarize, table_header, table_row


def sample(t_s: float, rss_mb: float, fds: int = 20) -> Sample:
    return Sample(t_s=t_s, rss_mb=rss_mb, cpu_pct=10.0, threads=16, open_fds=fds, db_mb=0.5,
                  broker_rss_mb=8.0, messages_accepted=int(50 * t_s))


def test_slope_of_a_line_and_of_too_few_points():
    assert slope_per_s([(0, 1.0), (10, 6.0), (20, 11.0)]) == pytest.approx(0.5)
    assert slope_per_s([(5, 3.0)]) == 0.0


def test_growth_ignores_the_warm_up_and_averages_out_the_noise():
    warm = [sample(t, 40.0 + t) for t in range(0, 60, 10)]  # fast growth while warming up
    flat = [sample(60 + t, 100.0 + (0.5 if (t // 10) % 2 else -0.5)) for t in range(0, 1800, 10)]
    s = summarize(warm + flat, warmup_s=60)
    assert s["samples"] == len(flat)
    assert s["measured_s"] == pytest.approx(1790)
    assert abs(s["rss_growth_mb"]) < 0.1
    assert s["messages_per_s"] == pytest.approx(50.0)


def test_a_leak_shows_as_growth_per_hour():
    leak = [sample(t, 50.0 + 0.01 * t) for t in range(120, 1920, 10)]
    s = summarize(leak, warmup_s=120)
    assert s["rss_growth_mb"] == pytest.approx(0.01 * 1790, abs=0.01)
    assert s["rss_growth_mb_per_h"] == pytest.approx(36.0)


def test_too_short_a_soak_is_an_error():
    with pytest.raises(ValueError, match="2 samples after"):
        summarize([sample(0, 50.0), sample(10, 50.0)], warmup_s=10)


def test_a_table_row_lines_up_with_the_header():
    assert len(table_row(sample(12.0, 55.5))) == len(table_header())
