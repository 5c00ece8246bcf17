"""A gym's uplink that a test can cut: a TCP forwarder on loopback between the gym's Mosquitto bridge
and the central broker. ``cut()`` closes every connection through it and refuses new ones (the bridge
sees the internet go away); ``restore()`` lets it connect again. ``close()`` stops its thread."""

from __future__ import annotations

import selectors
import socket
import threading

from server.mqtt.broker import free_port


class Uplink:
    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.host, self.target_port = host, target_port
        self.port = free_port(host)
        self._listen = socket.create_server((host, self.port))
        self._listen.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listen, selectors.EVENT_READ, None)
        self._peer: dict[socket.socket, socket.socket] = {}
        self._up = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._run, name="test-uplink", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            for sock in list(self._peer):
                self._drop(sock)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            for sock in list(self._peer):
                self._drop(sock)
        self._sel.close()
        self._listen.close()

    def _drop(self, sock: socket.socket) -> None:
        other = self._peer.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self._peer.pop(s, None)
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(0.05):
                with self._lock:
                    if key.fileobj is self._listen:
                        self._accept()
                    elif key.fileobj in self._peer:
                        self._forward(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            client, _ = self._listen.accept()
        except BlockingIOError:
            return
        if not self._up:
            client.close()
            return
        try:
            server = socket.create_connection((self.host, self.target_port), timeout=2)
        except OSError:
            client.close()
            return
        self.connections += 1
        for s in (client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peer[client], self._peer[server] = server, client
        self._sel.register(client, selectors.EVENT_READ, None)
        self._sel.register(server, selectors.EVENT_READ, None)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        try:
            self._peer[sock].setblocking(True)
            self._peer[sock].sendall(data)
            self._peer[sock].setblocking(False)
        except OSError:
            self._drop(sock)
