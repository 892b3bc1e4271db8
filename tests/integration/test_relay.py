"""The relay `intake local --container-address` serves containers through: bytes both ways."""

from __future__ import annotations

import socket
import threading

from intake_dev.relay import Relay


def test_relay_carries_a_conversation_from_its_address_to_the_loopback_port() -> None:
    # GIVEN a server on 127.0.0.1 that answers each line it reads in upper case, then closes
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                conn.sendall(line.upper())

    threading.Thread(target=serve, daemon=True).start()
    # AND a relay on another loopback address, same port
    relay = Relay("127.0.0.2", port, target_port=port)
    try:
        # WHEN a client talks to the relay's address, then closes its side
        with socket.create_connection(("127.0.0.2", port), timeout=5) as client:
            client.sendall(b"hello\nworld\n")
            client.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := client.recv(1024):
                received += chunk
        # THEN it got the server's answers to both lines, and the end of the stream
        assert received == b"HELLO\nWORLD\n"
        assert relay.address == ("127.0.0.2", port)
    finally:
        relay.close()
        server.close()


def test_relay_closes_a_connection_when_nothing_listens_behind_it() -> None:
    # GIVEN a relay to a loopback port where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay = Relay("127.0.0.2", port, target_port=port)
    try:
        # WHEN a client connects THEN the relay hangs up at once instead of holding it open
        with socket.create_connection(("127.0.0.2", port), timeout=5) as client:
            assert client.recv(1) == b""
    finally:
        relay.close()
