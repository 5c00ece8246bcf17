from server.hub.broadcast import ACK_TIMEOUT_US, Broadcaster


class FakeEmitter:
    def __init__(self):
        self.sent = []

    def emit(self, event, data, to=None, callback=None):
        self.sent.append((event, data, to, callback))


def test_frames_coalesce_per_station_and_wait_for_ack():
    em = FakeEmitter()
    b = Broadcaster(em, frame_interval_us=50_000)
    b.client_joined("tablet")
    b.client_joined("wall")
    b.progress("sled1", {"distance_m": 1.0})
    b.progress("sled1", {"distance_m": 2.0})
    b.flush(100_000)
    frames = [s for s in em.sent if s[0] == "frames"]
    assert {s[2] for s in frames} == {"tablet", "wall"}
    assert frames[0][1]["stations"] == {"sled1": {"distance_m": 2.0}}
    # within the interval: nothing; after it, only clients that acknowledged get the next frame
    b.progress("sled1", {"distance_m": 3.0})
    b.flush(120_000)
    assert len([s for s in em.sent if s[0] == "frames"]) == 2
    dict((s[2], s[3]) for s in frames)["wall"]()  # the wall acknowledges
    b.flush(160_000)
    third = [s for s in em.sent if s[0] == "frames"][2:]
    assert [s[2] for s in third] == ["wall"] and b.frames_skipped == 1
    # a frame never acknowledged is taken as lost after the timeout
    b.progress("sled1", {"distance_m": 4.0})
    b.flush(160_000 + ACK_TIMEOUT_US + 1)
    assert "tablet" in [s[2] for s in em.sent[-2:]]


def test_discrete_events_go_out_at_once():
    em = FakeEmitter()
    b = Broadcaster(em)
    b.event("result", {"id": "r1"})
    assert em.sent == [("result", {"id": "r1"}, None, None)]


def test_a_late_acknowledgement_gets_the_frame_it_missed_at_once():
    em = FakeEmitter()
    b = Broadcaster(em, frame_interval_us=50_000)
    b.client_joined("wall")
    b.progress("sled1", {"distance_m": 1.0})
    b.flush(100_000)
    first_ack = em.sent[-1][3]
    b.progress("sled1", {"distance_m": 2.0})
    b.flush(150_000)                       # the wall's ack is late: nothing sent at this slot
    assert len(em.sent) == 1 and b.frames_skipped == 1
    first_ack()                            # … and arrives: the newest frame goes out now
    assert len(em.sent) == 2 and em.sent[-1][1]["stations"] == {"sled1": {"distance_m": 2.0}}
    em.sent[-1][3]()                       # acknowledged in time: nothing more until the next slot
    assert len(em.sent) == 2
    b.progress("sled1", {"distance_m": 3.0})
    b.flush(200_000)
    assert len(em.sent) == 3 and b.frames_sent == 3
