"""A read-buffered socket for the hub's paho client.

paho-mqtt reads every incoming packet with at least three ``recv`` calls (the command byte, each byte
of the remaining length, the rest). Each call releases Python's GIL and has to win it back; in a hub
with a busy pipeline thread and two threads per Socket.IO client, each of those returns can wait up
to the interpreter's switch interval (5 ms). Under a class load that convoy, not the broker, was
most of the time between a node's publish and the hub's receipt (see ``bench/README.md``).

:class:`BufferedSocket` turns those calls into one ``recv_into`` of up to 64 KiB (into one buffer kept
for the connection's life: a fresh 64 KiB block per read came from mmap, page faults and all, on every
message of a quiet hub): later reads are served from memory without a system call. It reports the
buffered bytes through ``pending()``, the hook paho already uses for TLS sockets, so paho's loop does
not wait in ``select`` while whole packets sit in the buffer. Only plain TCP and Unix sockets are
wrapped (TLS and WebSocket transports keep paho's own).

The hub's TCP socket also gets a large receive buffer (:data:`RECEIVE_BUFFER_BYTES`, set before it
connects): while the hub is frozen (a stall) what the broker sends it waits in the hub's own kernel
buffer and is read the moment the hub runs again. With the default buffer (~90 KiB advertised on a
young connection) the window closed within a second of a stall, the broker's kernel went into TCP
persist mode with exponentially backed-off window probes, and after the stall the flow resumed only at
the next probe — seconds later (``tests/accuracy/FINDINGS.md`` F19).
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import paho.mqtt.client as mqtt

READ_SIZE = 65536  # bytes per recv: ~130 telemetry batches

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
"""SO_RCVBUF asked for on the hub's broker connection (bytes): ~1 minute of a busy gym's traffic. The
kernel caps it at ``net.core.rmem_max`` (``docs/reliability.md``)."""


class BufferedSocket:
    """Wraps a connected socket; ``recv(n)`` returns at most ``n`` bytes, from the buffer when it has any.

    ``send`` writes to the wrapped socket and notes when (``send_started_us``); everything else
    (``fileno``, ``close``, ``setblocking`` …) goes to the wrapped socket. Used from paho's network
    thread only.
    """

    def __init__(self, sock: socket.socket, read_size: int = READ_SIZE, clock_us: Callable[[], int] | None = None):
        self._sock = sock
        self._clock_us = clock_us
        self.send_started_us: int | None = None
        """Hub time (µs, ``clock_us``) just before the kernel was handed the first byte of the packet
        written last (see :meth:`send`); None without a clock or before the first write."""
        self._mid_packet = False  # the last send wrote only part of what it was given
        self._store = bytearray(read_size)  # one buffer for the connection's life: no 64 KiB block per read
        self._view = memoryview(self._store)
        self._len = 0  # bytes of _store read from the kernel
        self._pos = 0  # of which handed out
        self.recv_calls = 0  # system calls made (for tests and benchmarks)

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= self._len:
            if bufsize >= len(self._store):  # a packet longer than the buffer: straight from the kernel
                data = self._sock.recv(bufsize)  # may raise BlockingIOError: paho's "again"
                self.recv_calls += 1
                return data
            self.fill()  # may raise BlockingIOError
        end = min(self._pos + bufsize, self._len)
        chunk = bytes(self._view[self._pos:end])
        self._pos = end
        return chunk

    def fill(self) -> int:
        """One ``recv`` from the kernel into the (empty) buffer; the bytes read (0: the peer closed).
        Raises what the socket raises (``BlockingIOError``: nothing to read)."""
        n = self._sock.recv_into(self._store)
        self.recv_calls += 1
        self._len, self._pos = n, 0
        return n

    def pending(self) -> int:
        """Bytes already read from the kernel and not yet handed to paho."""
        return self._len - self._pos

    def take_publishes(self, limit: int) -> list[tuple[str, bytes]]:
        """Remove up to ``limit`` whole MQTT 3.1.1 PUBLISH packets at QoS 0 from the head of the buffer
        and return them as ``(topic, payload)``. Stops, consuming nothing more, at the first packet that
        is anything else (another type, QoS 1/2, a topic that is not UTF-8, a malformed length) or not
        wholly buffered yet: those stay for paho, which reads them as before."""
        buf, view, pos, end = self._store, self._view, self._pos, self._len
        out: list[tuple[str, bytes]] = []
        while pos < end and len(out) < limit:
            if buf[pos] & 0xF6 != 0x30:  # type 3 (PUBLISH), QoS bits 0; DUP and RETAIN may be set
                break
            i, length, shift = pos + 1, 0, 0
            while i < end and shift <= 21:
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if byte < 0x80:
                    break
                shift += 7
            else:
                break  # the length is incomplete (or longer than MQTT allows: paho reports that)
            stop = i + length
            if stop > end or length < 2:
                break
            topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
            if topic_end > stop:
                break
            try:
                topic = str(view[i + 2:topic_end], "utf-8")
            except UnicodeDecodeError:
                break
            out.append((topic, bytes(view[topic_end:stop])))
            pos = stop
        self._pos = pos
        return out

    def fileno(self) -> int:  # paho's loop asks for it on every turn (select)
        return self._sock.fileno()

    def send(self, data: Any, flags: int = 0) -> int:
        """Write to the kernel, noting the time just before (``send_started_us``): a clock ping's ``t1``
        must not be later than the ping really left, or its sample claims a smaller error than it has.
        A time read after the write (paho's ``on_publish``) comes once paho's thread has won the GIL
        back, up to milliseconds later under load. paho writes the rest of a packet cut short by the
        kernel with further calls: those keep the time of its first byte. A write the kernel refuses
        (``BlockingIOError``) wrote nothing; the next try is stamped again."""
        if self._clock_us is not None and not self._mid_packet:
            self.send_started_us = self._clock_us()
        written = self._sock.send(data, flags)
        self._mid_packet = written < len(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


MAX_PACKETS_PER_READ = 1000  # per loop_read (several kernel reads if the data is there), then paho's loop gets a turn


QoS0Sink = Callable[[list[tuple[str, bytes]]], None]


class BufferedClient(mqtt.Client):
    """paho's client with :class:`BufferedSocket` on plain TCP / Unix connections.

    paho's loop reads one packet per ``select``; each ``select`` releases the GIL, and under load the
    network thread then waits for it again. :meth:`loop_read` goes on with the packets already in the
    buffer (up to ``MAX_PACKETS_PER_READ``) before returning to the loop.

    With :attr:`on_qos0_messages` set (MQTT 3.1.1 only), QoS 0 PUBLISH packets skip paho's per-packet
    machinery (a dozen dict updates, an ``MQTTMessage``, a debug-log format, two clock reads and a lock
    per packet): each kernel read is cut into packets here (:meth:`BufferedSocket.take_publishes`), and
    the QoS 0 ones are handed over as a list of ``(topic, payload)``, in order, on paho's thread,
    instead of to ``on_message`` one by one.
    Everything else (QoS 1/2, acks, pings, a packet that straddles two reads, a closed or failed
    socket) still goes through paho, which keeps the connection state and the acknowledgements. paho's
    keepalive does not see the bytes of the fast path: while only telemetry arrives it sends a PINGREQ
    every keepalive period (as it does anyway when the hub publishes nothing), and the PINGRESP,
    read by paho, keeps the connection alive.
    """

    on_qos0_messages: QoS0Sink | None = None
    send_clock_us: Callable[[], int] | None = None
    """The clock :meth:`send_started_us` reads (the hub's, µs); None: writes are not timed."""

    def send_started_us(self) -> int | None:
        """Hub time just before the packet written last began to go out (:meth:`BufferedSocket.send`);
        None on a connection paho makes itself (TLS, WebSocket) or without ``send_clock_us``. Read it
        on paho's thread right after the write, e.g. in ``on_publish``."""
        sock = self._sock
        return sock.send_started_us if isinstance(sock, BufferedSocket) else None

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        sock = self._sock
        fast = self.on_qos0_messages if self._protocol == mqtt.MQTTv311 else None
        if not isinstance(sock, BufferedSocket):
            return super().loop_read(max_packets)
        rc = mqtt.MQTT_ERR_SUCCESS if fast is not None else super().loop_read(max_packets)
        budget = MAX_PACKETS_PER_READ
        while budget > 0 and rc == mqtt.MQTT_ERR_SUCCESS and self._still_on(sock):
            if not sock.pending():
                if fast is None:
                    break
                if not self._between_packets():  # paho reads the rest of its packet itself
                    return super().loop_read(max_packets)
                try:  # the kernel's bytes are read here, so every packet of a read can take the fast path
                    got = sock.fill()
                except BlockingIOError:  # all read: back to paho's loop (writes, keepalive, select)
                    break
                except OSError:
                    got = 0
                if not got:  # closed or failed: paho reads again and reports the loss its own way
                    return super().loop_read(max_packets)
            if fast is not None and self._between_packets():
                taken = sock.take_publishes(budget)
                if taken:
                    budget -= len(taken)
                    fast(taken)
                    continue
            rc = super().loop_read(max_packets)  # anything but a QoS 0 PUBLISH (or one cut by the read)
            budget -= 1
        return rc

    def _still_on(self, sock: BufferedSocket) -> bool:
        """paho still reads ``sock`` (a callback may have disconnected or reconnected meanwhile)."""
        return self._sock is sock

    def _between_packets(self) -> bool:
        """paho holds no partly read packet (its read state is private: if it ever changes shape, the
        fast path stays off and paho reads everything)."""
        state = getattr(self, "_in_packet", None)
        return type(state) is dict and state.get("command") == 0

    def _create_socket_connection(self) -> socket.socket:  # paho 2.x: the TCP connection, every (re)connect
        if self._get_proxy():
            return super()._create_socket_connection()
        return connect_with_buffer((self._host, self._port), self._connect_timeout,
                                   (self._bind_address, self._bind_port))

    def _create_socket(self) -> Any:  # paho 2.x's socket factory (called on every (re)connect)
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) and not self._ssl and self._transport != "websockets":
            return BufferedSocket(sock, clock_us=self.send_clock_us)
        return sock


def connect_with_buffer(addr: tuple[str, int], timeout_s: float, source: tuple[str, int] | None = None,
                        rcvbuf_bytes: int = RECEIVE_BUFFER_BYTES) -> socket.socket:
    """``socket.create_connection`` with ``SO_RCVBUF`` set to ``rcvbuf_bytes`` before connecting (so the
    window scale offered in the SYN allows the whole buffer); the first address that connects wins."""
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(addr[0], addr[1], 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
            except OSError:  # a platform that refuses: the default buffer, as before
                pass
            sock.settimeout(timeout_s)
            if source and (source[0] or source[1]):
                sock.bind(source)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error if error is not None else OSError(f"no address for {addr[0]}:{addr[1]}")
