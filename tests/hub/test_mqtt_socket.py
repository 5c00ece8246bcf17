"""The hub's read-buffered MQTT socket: paho's small reads come from one system call, nothing is lost."""

import socket

import pytest

from server.mqtt.buffered_socket import BufferedSocket


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
