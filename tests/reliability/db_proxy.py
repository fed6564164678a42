"""A TCP proxy in front of PostgreSQL whose link can be cut: the test's stand-in for a
database server that stops and comes back (the shared server itself is never stopped).

``cut()`` closes every connection that goes through it — the server side of each is gone,
as when PostgreSQL shuts down — and closes its port, so new connections are refused until
``restore()`` opens it again.
"""

from __future__ import annotations

import socket
import threading

from .system import free_port


class CuttableProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.accepting: threading.Thread | None = None
        self.connections = 0  # accepted since the start, for the report

    @property
    def open(self) -> bool:
        return self.listener is not None

    def restore(self) -> None:
        """Open the port (again) and pass connections through."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.listener = listener
        self.accepting = threading.Thread(target=self._accept, args=(listener,), name="db-proxy", daemon=True)
        self.accepting.start()

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        if self.accepting is not None:
            self.accepting.join(5)
        with self.lock:
            doomed, self.sockets = self.sockets, set()
        for sock in doomed:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self.lock:
                if self.listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(server)
                    return
                self.sockets.update((client, server))
                self.connections += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.sockets.discard(source)
                self.sockets.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
