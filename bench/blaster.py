"""A minimal MQTT 3.1.1 publisher for the saturation ramps: QoS 0 PUBLISH packets written in batches.

The ramps (``bench/raw.py``, ``bench/saturation.py``) must offer more than the consumer can take, or
the "ceiling" is the publishers' and not the subscriber's. paho builds each packet in Python and takes
a lock and a queue per message; on the bench's one "world" CPU that capped the offer at 19–33 k msg/s,
below what a bare subscriber takes. This writes the same topics and payloads (built by
:func:`tel_payload`, byte for byte what ``firmware_bridge.wire.encode`` makes of ``messages.telemetry``)
as raw packets, many per ``send``. It subscribes to nothing and reads nothing after the CONNACK;
keepalive 0 (the broker never expects a ping), clean session. Bench code only: nodes use paho.
"""

from __future__ import annotations

import socket

CONNACK_OK = b"\x20\x02\x00\x00"


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


class RawPublisher:
    """One connection; :meth:`publish` buffers a QoS 0 PUBLISH, :meth:`flush` sends what is buffered."""

    def __init__(self, host: str, port: int, client_id: str, timeout_s: float = 10.0):
        self._sock = socket.create_connection((host, port), timeout=timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _string("MQTT") + b"\x04\x02\x00\x00" + _string(client_id)  # v3.1.1, clean session, keepalive 0
        self._sock.sendall(b"\x10" + _length(len(body)) + body)
        ack = b""
        while len(ack) < 4:
            chunk = self._sock.recv(4 - len(ack))
            if not chunk:
                raise ConnectionError("the broker closed the connection before its CONNACK")
            ack += chunk
        if ack != CONNACK_OK:
            raise ConnectionError(f"the broker refused the connection: {ack!r}")
        self._out = bytearray()
        self._topics: dict[str, bytes] = {}

    def publish(self, topic: str, payload: bytes) -> None:
        head = self._topics.get(topic)
        if head is None:
            head = self._topics[topic] = _string(topic)
        self._out += b"\x30" + _length(len(head) + len(payload)) + head + payload
        if len(self._out) >= 32768:
            self.flush()

    def flush(self) -> None:
        if self._out:
            self._sock.sendall(self._out)
            self._out.clear()

    def close(self) -> None:
        try:
            self.flush()
            self._sock.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            pass
        self._sock.close()


def tel_payload(boot_id: str, seq: int, sensor: str, kind: str, samples: list[list]) -> bytes:
    """``wire.encode(messages.telemetry(...))`` for samples ``[int, float, int]``, without ``json``."""
    body = ",".join(f"[{t},{v!r},{c}]" for t, v, c in samples)
    return (f'{{"v":1,"boot_id":"{boot_id}","seq":{seq},"sensor":"{sensor}","kind":"{kind}",'
            f'"samples":[{body}]}}').encode()
