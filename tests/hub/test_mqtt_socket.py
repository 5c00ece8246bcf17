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
