"""The chain's two directions on one hub, without a broker: what is published for each committed
result and correction (once, stable ids, opted-out members never), and what the receiver keeps."""

from __future__ import annotations

import json

import pytest

from server.app import create_app
from server.chain.publisher import ChainPublisher
from server.chain.record import ChainRecord, RecordError, parse_payload
from server.chain.store import ChainStore
from server.classes.corrections import CorrectionKind
from server.classes.members import MemberStore
from tests.chain.support import add_sled, chain_config, commit

ACTOR = (None, "coach")


@pytest.fixture
def gym(tmp_path):
    app = create_app(chain_config(tmp_path, "gym-a", club="Amsterdam"), connect_mqtt=False)
    add_sled(app)
    sent: list[tuple[str, bytes]] = []
    publisher = ChainPublisher(app.db, ChainStore(app.db, lambda: 1000.0), "gym-a", "Amsterdam",
                               lambda topic, payload: sent.append((topic, payload)) or True, lambda: True)
    yield app, publisher, sent
    app.stop()


def payloads(sent):
    return [(topic, json.loads(p)) for topic, p in sent]


def test_a_committed_result_is_published_once_with_a_stable_id(gym):
    app, publisher, sent = gym
    attempt = commit(app, "Kiwi", 4.321)
    publisher.tick(0)
    publisher.tick(1_000_000)  # nothing new: nothing sent again
    [(topic, body)] = payloads(sent)
    assert topic == "sledhub/v1/hub/results/sled1"
    assert body["id"] == f"gym-a:{attempt}:0" and body["version"] == 0
    assert body["club"] == "Amsterdam" and body["athlete"] == "Kiwi" and body["drill"] == "sled:10 m"
    assert body["status"] == "OK" and body["time_s"] == 4.321
    assert parse_payload(sent[0][1]).id == body["id"]


def test_each_correction_is_a_new_version_and_a_deletion_a_tombstone(gym):
    app, publisher, sent = gym
    attempt = commit(app, "Kiwi", 4.321)
    publisher.tick(0)
    app.classes.correct(attempt, CorrectionKind.EDIT_TIME, "hand timed", ACTOR, time_s=4.5)
    publisher.tick(1_000_000)
    app.classes.correct(attempt, CorrectionKind.DELETE, "wrong athlete", ACTOR)
    publisher.tick(2_000_000)
    versions = [(b["version"], b["status"], b["time_s"]) for _, b in payloads(sent)]
    assert versions == [(0, "OK", 4.321), (1, "OK", 4.5), (2, "DELETED", None)]
    assert publisher.store.get(f"gym-a:{attempt}").status == "DELETED"


def test_a_member_who_opted_out_never_leaves_the_gym(gym):
    app, publisher, sent = gym
    members = MemberStore(app.db)
    hidden = members.create("Anna Kowalski", opt_out=True)
    shown = members.create("Bram de Vries")
    commit(app, "Anna Kowalski", 4.0, member_id=hidden.id)
    commit(app, "Bram de Vries", 5.0, member_id=shown.id)
    publisher.tick(0)
    bodies = [b for _, b in payloads(sent)]
    assert [b["athlete"] for b in bodies] == ["Bram V."]  # the wall name, never the full name
    assert "Anna" not in json.dumps(bodies) and hidden.id not in json.dumps(bodies)
    assert shown.id not in bodies[0]["person"]
    assert publisher.withheld > 0  # counted (once per look at the row)


def test_nothing_moves_while_the_broker_is_away(gym):
    app, publisher, sent = gym
    up = [False]
    publisher._connected = lambda: up[0]
    commit(app, "Kiwi", 4.0)
    publisher.tick(0)
    assert sent == []
    up[0] = True
    publisher.tick(10_000)
    assert len(sent) == 1


def record(gym_id="gym-b", attempt="x-a1", version=0, time_s=4.0, status="OK", athlete="Lia", person="p1"):
    return ChainRecord(gym_id, attempt, version, "Berlin", athlete, person, "sled2", "sled:10 m", status, time_s,
                       1_700_000_000.0)


def test_the_receiver_is_idempotent_and_a_correction_replaces_its_earlier_version(tmp_path):
    app = create_app(chain_config(tmp_path, "gym-a"), connect_mqtt=False)
    try:
        receiver = app.chain.receiver
        topic = "sledhub/v1/chain/gym-b/results/sled2"
        first, fixed = record(), record(version=1, time_s=3.9)
        assert len(receiver.take([(topic, first.encode()), (topic, first.encode())])) == 1
        assert receiver.take([(topic, fixed.encode())]) == [fixed]
        assert receiver.take([(topic, first.encode())]) == []  # an old version arriving late changes nothing
        assert app.chain.store.get("gym-b:x-a1") == fixed
        assert receiver.duplicates == 2
    finally:
        app.stop()


def test_the_receiver_refuses_a_gym_speaking_for_another_and_its_own_echo(tmp_path):
    app = create_app(chain_config(tmp_path, "gym-a"), connect_mqtt=False)
    try:
        receiver = app.chain.receiver
        receiver.take([("sledhub/v1/chain/gym-c/results/sled2", record().encode()),          # topic says gym-c
                       ("sledhub/v1/chain/gym-a/results/sled2", record("gym-a").encode()),  # our own, back
                       ("sledhub/v1/chain/gym-b/results/sled2", b"{not json"),
                       ("sledhub/v1/chain/gym-b/results/sled2", b'{"v":1,"id":"gym-b:x:0"}')])
        assert receiver.stats()["rejected"] == {"topic_mismatch": 1, "payload": 2}
        assert receiver.stats()["echoes"] == 1
        assert app.chain.store.counts() == {}
    finally:
        app.stop()


@pytest.mark.parametrize("change, field", [
    ({"version": -1}, "version"), ({"time_s": float("nan")}, "time_s"), ({"gym_id": "a/b"}, "gym_id"),
    ({"drill": "rowing:10 m"}, "drill"), ({"id": "gym-b:other:0"}, "id"), ({"v": 2}, "v"),
])
def test_a_bad_payload_names_its_field(change, field):
    body = {**record().to_payload(), **change}
    with pytest.raises(RecordError, match=f"^{field}:"):
        parse_payload(json.dumps(body).encode())


def test_a_later_opt_out_withdraws_what_was_shared_and_a_new_nickname_is_a_new_version(gym):
    app, publisher, sent = gym
    members = MemberStore(app.db)
    anna = members.create("Anna Kowalski")
    attempt = commit(app, "Anna Kowalski", 4.0, member_id=anna.id)
    publisher.tick(0)
    members.update(anna.id, {"nickname": "Rocket"})
    publisher.tick(1_000_000)
    publisher.tick(2_000_000)  # looked at again: nothing changed, nothing sent
    members.update(anna.id, {"opt_out": True})
    publisher.tick(3_000_000)
    versions = [(b["version"], b["athlete"], b["status"]) for _, b in payloads(sent)]
    assert versions == [(0, "Anna K.", "OK"), (1, "Rocket", "OK"), (2, "Member", "DELETED")]
    assert "Kowalski" not in json.dumps(payloads(sent)[2])
    assert publisher.store.get(f"gym-a:{attempt}").status == "DELETED"


def test_a_result_the_client_refused_is_sent_on_the_next_tick(gym):
    app, publisher, sent = gym
    accept = [False]
    publisher._publish = lambda topic, payload: accept[0] and (sent.append((topic, payload)) or True)
    commit(app, "Kiwi", 4.0)
    publisher.tick(0)
    assert sent == [] and publisher.store.counts() == {"gym-a": 1}  # on its own board already
    accept[0] = True
    publisher.tick(10_000)
    assert [b["athlete"] for _, b in payloads(sent)] == ["Kiwi"]


def test_a_batch_read_together_splits_the_chain_topics_from_the_hubs(gym):
    """The MQTT fast path's batches (``route_batch``): other gyms' results go to the receiver, the rest
    to the hub in one batch, each side in order."""
    app = gym[0]
    offered, batches = [], []
    app.chain.receiver.offer = lambda topic, payload, rx_us: offered.append((topic, rx_us))
    sink = app.chain.route_batch(lambda messages, rx_us: batches.append((messages, rx_us)))
    node = ("sledhub/v1/node/sled1/tel", b"{}")
    other = ("sledhub/v1/chain/gym-b/results/sled1", b"{}")
    sink([node, other, node, other], 7)
    sink([node], 8)
    assert offered == [(other[0], 7), (other[0], 7)]
    assert batches == [([node, node], 7), ([node], 8)]
