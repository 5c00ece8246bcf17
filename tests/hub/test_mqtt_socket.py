"""The hub's read-buffered MQTT socket: paho's small reads come from one system call, nothing is lost."""

import socket

import paho.mqtt.client as mqtt
import pytest

from pathlib import Path

from server.mqtt.buffered_socket import RECEIVE_BUFFER_BYTES, BufferedClient, BufferedSocket, connect_with_buffer


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_small_reads_are_served_from_one_system_call(pair):
    a, b = pair
    a.sendall(b"\x30\x05hello\x30\x03abc")
    s = BufferedSocket(b)
    got = [s.recv(1), s.recv(1), s.recv(5)]
    assert got == [b"\x30", b"\x05", b"hello"]
    assert s.pending() == 5
    assert [s.recv(1), s.recv(1), s.recv(3)] == [b"\x30", b"\x03", b"abc"]
    assert s.recv_calls == 1
    assert s.pending() == 0


def test_a_read_longer_than_the_buffer_returns_what_is_left_then_reads_again(pair):
    a, b = pair
    s = BufferedSocket(b, read_size=4)
    a.sendall(b"0123456789")
    assert s.recv(2) == b"01"
    assert s.recv(8) == b"23"          # never more than what was buffered
    assert s.recv(8) == b"456789"      # the next call goes to the kernel
    assert s.recv_calls == 2


def test_nothing_to_read_raises_like_the_socket_and_eof_is_empty(pair):
    a, b = pair
    s = BufferedSocket(b)
    with pytest.raises(BlockingIOError):
        s.recv(1)
    a.sendall(b"x")
    a.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b"x"
    assert s.recv(1) == b""            # paho reads this as "connection lost"


def test_everything_else_goes_to_the_socket(pair):
    a, b = pair
    s = BufferedSocket(b)
    assert s.fileno() == b.fileno()
    s.send(b"ping")
    assert a.recv(4) == b"ping"


def test_a_write_is_timed_before_the_kernel_has_it_and_a_packet_cut_short_keeps_its_first_time(pair):
    """A clock ping's t1 (``send_started_us``) is read before the write: never later than the ping left.
    When the kernel takes only part of a packet, paho writes the rest later: still the first byte's time."""
    a, b = pair
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ticks: list[int] = []

    def clock_us() -> int:  # the peer has nothing new yet when the time is read
        a.setblocking(False)
        with pytest.raises(BlockingIOError):
            a.recv(1 << 20)
        ticks.append(len(ticks) + 1)
        return ticks[-1]
    s = BufferedSocket(b, clock_us=clock_us)
    assert s.send_started_us is None
    assert s.send(b"ping") == 4 and s.send_started_us == 1
    assert a.recv(4) == b"ping"
    packet = b"x" * 4_000_000
    sent = s.send(packet)
    assert 0 < sent < len(packet) and s.send_started_us == 2
    a.setblocking(True)
    while sent < len(packet):  # the reader drains, paho writes the rest
        a.recv(1 << 20)
        try:
            sent += s.send(packet[sent:])
        except BlockingIOError:
            pass
        assert s.send_started_us == 2
    a.setblocking(False)
    try:  # what is left of it
        while a.recv(1 << 20):
            pass
    except BlockingIOError:
        pass
    assert s.send(b"next") == 4 and s.send_started_us == 3  # a new packet, a new time


def _rmem_max() -> int:
    path = Path("/proc/sys/net/core/rmem_max")
    return int(path.read_text()) if path.exists() else 0


def test_the_hubs_connection_gets_a_large_receive_buffer():
    """F19: a stall's backlog must fit in the hub's own kernel buffer (the kernel caps it at rmem_max)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        host, port = server.getsockname()
        client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="hub")
        client._host, client._port = host, port
        sock = client._create_socket()
        try:
            assert isinstance(sock, BufferedSocket)
            assert sock.getpeername() == (host, port)
            wanted = min(RECEIVE_BUFFER_BYTES, _rmem_max() or RECEIVE_BUFFER_BYTES)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= wanted
            plain = socket.create_connection((host, port))
            assert plain.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < wanted  # not the default anyway
            plain.close()
        finally:
            sock.close()


def test_connect_with_buffer_raises_when_nothing_listens():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(OSError):
        connect_with_buffer(("127.0.0.1", port), 2.0)


def _publish_packet(topic: bytes, payload: bytes, first: int = 0x30, mid: bytes = b"") -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + mid + payload
    n, length = len(body), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([first]) + bytes(length) + body


def test_whole_qos0_publishes_are_cut_from_the_buffer_in_order(pair):
    a, b = pair
    big = b"x" * 300  # a two-byte remaining length
    a.sendall(_publish_packet(b"t/1", b"one") + _publish_packet(b"t/2", big, first=0x31)  # retained
              + _publish_packet(b"t/3", b"", first=0x38)  # DUP set, empty payload
              + _publish_packet(b"t/4", b"qos1", first=0x32, mid=b"\x00\x07") + _publish_packet(b"t/5", b"after"))
    s = BufferedSocket(b)
    assert s.recv(1) == b"\x30"  # paho reads a packet's first bytes itself
    s.recv(1), s.recv(3 + 2 + 3)
    assert s.take_publishes(100) == [("t/2", big), ("t/3", b"")]
    assert s.recv(1) == b"\x32"  # QoS 1 stays for paho
    rest = s.pending()
    assert s.take_publishes(100) == [] and s.pending() == rest  # mid-packet: nothing taken


def test_take_publishes_leaves_incomplete_odd_and_extra_packets(pair):
    a, b = pair
    whole = _publish_packet(b"t/1", b"one")

    def loaded(data: bytes) -> BufferedSocket:
        s = BufferedSocket(b)
        a.sendall(data)
        assert s.fill() == len(data)
        return s

    s = loaded(whole + _publish_packet(b"t/2", b"two")[:-1])
    assert s.take_publishes(100) == [("t/1", b"one")]
    assert s.pending() == len(whole) - 1  # the partial packet (one byte short) is all still there
    s = loaded(_publish_packet(b"t/\xff", b"bad utf-8") + whole)
    assert s.take_publishes(100) == []  # paho reads it (and reports the topic)
    s = loaded(whole * 3)
    assert s.take_publishes(2) == [("t/1", b"one")] * 2 and s.pending() == len(whole)
    s = loaded(b"\x30\xff\xff\xff\xff\x7f")  # a remaining length longer than MQTT allows
    assert s.take_publishes(100) == [] and s.pending() == 6


def test_what_was_handed_out_does_not_change_when_the_buffer_is_reused(pair):
    """One buffer serves every read: a payload or chunk handed out is a copy, never a view of it."""
    a, b = pair
    s = BufferedSocket(b)
    a.sendall(_publish_packet(b"t/1", b"first"))
    s.fill()
    first = s.take_publishes(10)
    a.sendall(b"\x30\x09\x00\x03t/2")
    s.fill()
    chunk = s.recv(5)
    a.sendall(_publish_packet(b"t/3", b"third!") * 2)
    s.fill()
    assert first == [("t/1", b"first")] and type(first[0][1]) is bytes
    assert chunk == b"\x30\x09\x00\x03t" and type(chunk) is bytes
    assert s.take_publishes(10) == [("t/3", b"third!")] * 2


def _subscriber(broker, client_id: str, topics: list[tuple[str, int]], on_fast, on_paho, keepalive: int = 60,
                on_disconnect=None) -> BufferedClient:
    """A started BufferedClient with the fast path on, subscribed to ``topics`` (waits for the SUBACK)."""
    import threading

    sub = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    sub.on_qos0_messages = on_fast
    sub.on_message = on_paho
    if on_disconnect is not None:
        sub.on_disconnect = on_disconnect
    subscribed = threading.Event()
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(topics)
    sub.connect(broker.host, broker.port, keepalive=keepalive)
    sub.loop_start()
    if not subscribed.wait(10):
        sub.loop_stop()
        raise AssertionError("no SUBACK within 10 s")
    return sub


def _publisher(broker, client_id: str) -> mqtt.Client:
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    return pub


def _close(*clients: mqtt.Client) -> None:
    for c in clients:
        c.disconnect()
        c.loop_stop()


def test_the_fast_path_delivers_a_flood_in_order_and_paho_keeps_qos1(broker):
    """Through a real broker: QoS 0 telemetry goes to ``on_qos0_messages``, QoS 1 events to ``on_message``
    (acknowledged by paho), every message once, each publisher's order kept."""
    from tests.support.waiting import wait_for

    got: list[tuple[str, bytes, int, str]] = []
    n = 3000
    sub = _subscriber(broker, "fast-sub", [("fast/tel", 0), ("fast/evt", 1)],
                      lambda messages: got.extend((t, p, 0, "fast") for t, p in messages),
                      lambda c, u, m: got.append((m.topic, m.payload, m.qos, "paho")))
    pub = _publisher(broker, "fast-pub")
    try:
        infos = []
        for i in range(n):
            pub.publish("fast/tel", str(i).encode() * 40, qos=0)
            if i % 100 == 0:
                infos.append(pub.publish("fast/evt", str(i).encode(), qos=1))
        for info in infos:
            info.wait_for_publish(10)
        pub.publish("fast/tel", b"end", qos=0).wait_for_publish(10)  # after every copy there could be
        wait_for(lambda: got and got[-1][1] == b"end", 20, what="the flood and its end marker")
    finally:
        _close(pub, sub)
    tel = [int(p[: len(p) // 40]) for t, p, qos, path in got[:-1] if t == "fast/tel"]
    evt = [int(p) for t, p, qos, path in got if t == "fast/evt"]
    assert tel == list(range(n))
    assert evt == list(range(0, n, 100))
    assert {qos for t, p, qos, path in got if t == "fast/evt"} == {1}
    assert all(path == "paho" for t, p, qos, path in got if qos == 1)
    fast = sum(path == "fast" for t, p, qos, path in got)
    assert fast > n / 2, f"only {fast} of {n} took the fast path"


def test_a_connection_fed_only_by_the_fast_path_stays_up_past_its_keepalive(broker):
    """paho never sees the fast path's bytes: its keepalive must still hold (a PINGREQ per period, the
    PINGRESP read by paho) while telemetry streams in for several keepalive periods."""
    import time

    from tests.support.waiting import wait_for

    got, drops = [0], []
    sub = _subscriber(broker, "keepalive-sub", [("ka/tel", 0)],
                      lambda messages: got.__setitem__(0, got[0] + len(messages)),
                      lambda c, u, m: got.__setitem__(0, got[0] + 1), keepalive=1,
                      on_disconnect=lambda *args: drops.append(args))
    pub = _publisher(broker, "keepalive-pub")
    try:
        end = time.monotonic() + 3.5
        sent = 0
        while time.monotonic() < end:  # a node's pace: bursts every 10 ms, for 3.5 keepalive periods
            for _ in range(20):
                pub.publish("ka/tel", b"x" * 200, qos=0)
                sent += 1
            time.sleep(0.01)
        wait_for(lambda: got[0] >= sent, 5, what="every message")
    finally:
        _close(pub, sub)
    assert got[0] == sent
    assert drops[:-1] == [] and len(drops) == 1  # only the disconnect at the end
    assert drops[0][3].value == 0  # the client's own disconnect, not a keepalive timeout
