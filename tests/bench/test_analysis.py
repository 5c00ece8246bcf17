"""The bench's joins and summaries on hand-made records."""

from __future__ import annotations

from collections import Counter

from bench.analysis import Joined, finish_latencies, frame_latencies, frame_rates, percentiles_ms
from bench.driver import RunLog
from bench.nodes import Records
from bench.profile import summarize
from bench.report import check_targets
from bench.sioclient import ClientRecords

MS = 1_000_000


def test_percentiles_are_nearest_rank_in_ms():
    assert percentiles_ms(range(1 * MS, 101 * MS, MS)) == {"p50": 50.0, "p99": 99.0, "max": 100.0, "n": 100}
    assert percentiles_ms([]) == {"p50": None, "p99": None, "max": None, "n": 0}


def _nodes() -> Records:
    rec = Records()
    # wheel batches of sled1: samples 0..49 ms published at 60 ms, 50..99 ms published at 110 ms
    rec.tel += [("sled1", "n1", 0, 0, 49_000, 60 * MS), ("sled1", "n1", 2, 50_000, 99_000, 110 * MS),
                ("sled1", "n1", 1, 5_000, 42_000, 61 * MS)]  # the force batch of the first 50 ms
    rec.evt.append(("lane1", "n2", 7, "break", "finish", 3_000_000, 3_001 * MS))
    rec.finishes[("lane1", 0)] = ("n2", 7, 3_001 * MS, 3_000_000)
    rec.finishes[("sled1", 0)] = ("n1", 2, 110 * MS, 95_000)
    return rec


def test_frame_latency_falls_back_to_the_batch_holding_the_newest_sample_at_the_watermark():
    joined = Joined([_nodes()])
    assert joined.batch_pub_ns("sled1", 45_000) == 60 * MS   # wheel sample 45 ms, published at 60
    assert joined.batch_pub_ns("sled1", 70_000) == 110 * MS
    c = ClientRecords(0, frames=[(400 * MS, "sled1", 45_000, None, None), (10**12, "sled1", 45_000, None, None)])
    out = frame_latencies(joined, [c], (0, 10**11))
    assert (out["p50"], out["n"], out["exact"], out["by_watermark"]) == (340.0, 1, 0, 1)


def test_frame_latency_is_split_at_the_hubs_stamp_when_the_frame_has_one():
    joined = Joined([_nodes()])
    c = ClientRecords(0, frames=[(100 * MS, "sled1", 45_000, None, None, 85_000),   # made at 85 ms
                                 (200 * MS, "sled1", 70_000, None, None, None)])     # an older hub: no stamp
    out = frame_latencies(joined, [c], (0, 10**11))
    assert out["n"] == 2 and out["p50"] == 40.0                # 100 − 60 and 200 − 110 (nearest rank)
    assert out["parts"]["to_frame"] == {"p50": 25.0, "p99": 25.0, "max": 25.0, "n": 1}
    assert out["parts"]["fan_out"] == {"p50": 15.0, "p99": 15.0, "max": 15.0, "n": 1}


def test_frame_latency_finds_the_wheel_sample_a_frame_shows_from_its_distance():
    rec = Records()
    rec.rest_counts[("sled1", 3)] = 100
    # run 3 GO at 1 s: rattle (100/101), then the pull: counts 102-140 at 1.6 s, 141-180 at 1.65 s
    rec.wheel += [("sled1", 1_000_000, 100, 101, 1_010 * MS), ("sled1", 1_550_000, 102, 140, 1_600 * MS),
                  ("sled1", 1_600_000, 141, 180, 1_650 * MS), ("sled1", 900_000, 99, 100, 950 * MS)]
    runs = [RunLog("sled1", 3, "a3", 1_000_000, 2_000_000, go_mono_s=1.0)]
    joined = Joined([rec], runs)
    assert joined.frame_pub_ns("sled1", 0, "a3", 0.2) == (1_600 * MS, True)    # count 140
    assert joined.frame_pub_ns("sled1", 0, "a3", 0.205) == (1_650 * MS, True)  # count 141
    assert joined.frame_pub_ns("sled1", 0, "a3", 0.005)[1] is False            # one count from rest: ambiguous


def test_finish_and_result_latency_join_through_source_and_attempt():
    joined = Joined([_nodes()])
    runs = [RunLog("lane1", 0, "a1", 0, 0, go_mono_s=5.0), RunLog("sled1", 0, "a2", 0, 0, go_mono_s=50.0)]
    c = ClientRecords(0, finishes=[("a1", "lane1", "n2", 7, 3_004 * MS), ("a1", "lane1", "n2", 7, 3_900 * MS)],
                      results=[("a1", "lane1", "OK", 3_301 * MS), ("a2", "sled1", "OK", 500 * MS)])
    out = finish_latencies(joined, [c], runs, (0.0, 10.0))
    assert out["finish"]["n"] == 1 and out["finish"]["p50"] == 3.0   # the first finish per attempt only
    assert out["result"] == {"p50": 300.0, "p99": 300.0, "max": 300.0, "n": 1}  # a2 is outside the window


def test_frame_rate_per_station_is_the_median_over_clients():
    clients = [ClientRecords(i, events=Counter(frames=10), station_frames={"sled1": [19, 10**9, 0]})
               for i in range(3)]
    clients[0].station_frames["sled1"] = [5, 10**9, 0]
    assert frame_rates(clients)["by_station"] == {"sled1": 19.0}


def test_profile_summary_counts_threads_self_and_inclusive_time():
    raw = ("thread (1): sledhub-pipeline;run (p.py:1);handle (h.py:5);decode (j.py:9) 6\n"
           "thread (1): sledhub-pipeline;run (p.py:1);handle (h.py:7) 2\n"
           "thread (2): Thread-12;serve (s.py:3) 2\n")
    out = summarize(raw)
    assert out["samples"] == 10
    assert out["threads_pct"] == [["sledhub-pipeline", 80.0], ["Thread", 20.0]]
    assert out["self_pct"][0] == ["decode (j.py)", 60.0]
    assert ["handle (h.py)", 80.0] in out["inclusive_pct"]


def test_targets_are_checked_on_the_report_keys():
    report = {"ingest_ratio": 0.9, "finish_latency_ms": {"p50": 4.0, "p99": 30.0}, "frames_per_s_per_station": None,
              "frame_latency_ms": {"p50": 31.0, "p99": 120.0}, "lost_events": 0, "hub_rss_mb": 70.0,
              "startup_s": 1.2}
    met = {k: v["met"] for k, v in check_targets(report).items()}
    assert met == {"ingest_ratio": True, "finish_latency_ms.p50": True, "finish_latency_ms.p99": False,
                   "frame_latency_ms.p50": True, "frame_latency_ms.p99": False,
                   "frames_per_s_per_station": None, "lost_events": True, "hub_rss_mb": True, "startup_s": True}
