"""A TCP relay from one address of this machine to a loopback port.

`intake local` serves everything on 127.0.0.1. A Lambda container started by `sam local invoke`
cannot reach the host's loopback: it reaches the host through its bridge network's gateway
address. The relay listens on that one address (never on all of them) and forwards each
connection to the same port on loopback.

The gateway address appears only when the container engine brings its bridge up, often after
the relay starts, so the socket binds with IP_FREEBIND: it is ready before the address exists.
"""

from __future__ import annotations

import contextlib
import socket
import threading

# Linux's IP_FREEBIND (include/uapi/linux/in.h); Python's socket module does not name it.
IP_FREEBIND = 15


class Relay:
    """Forwards connections made to `listen_host:port` to `target_host:target_port`."""

    def __init__(self, listen_host: str, port: int, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # not Linux: the address must exist already
            self._server.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        self._server.bind((listen_host, port))
        self._server.listen(64)
        self.address: tuple[str, int] = self._server.getsockname()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"relay-{port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            threading.Thread(target=_connect, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()


def _connect(client: socket.socket, upstream: socket.socket) -> None:
    """Copies both directions until both end, then closes both sockets."""
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    for end in (client, upstream):
        end.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copies one direction until it ends, then half-closes the other side for writing."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


__all__ = ["Relay"]
