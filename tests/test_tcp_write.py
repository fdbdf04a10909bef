"""chatproject/tcp_write.py: Twisted TCP writes go out at once, and nothing is reordered or lost
when they cannot."""

import socket

import pytest
from twisted.internet import tcp

from chatproject import tcp_write


class _Reactor:
    """What a connection asks of its reactor when it writes: to be watched, or not."""

    def __init__(self) -> None:
        self.writers: list[object] = []

    def addWriter(self, fd: object) -> None:  # noqa: N802 - Twisted's interface
        if fd not in self.writers:
            self.writers.append(fd)

    def removeWriter(self, fd: object) -> None:  # noqa: N802
        if fd in self.writers:
            self.writers.remove(fd)

    def addReader(self, fd: object) -> None:  # noqa: N802
        pass

    def removeReader(self, fd: object) -> None:  # noqa: N802
        pass


@pytest.fixture
def connection(monkeypatch):
    monkeypatch.setattr(tcp.Connection, "write", tcp_write._write_at_once)
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    reactor = _Reactor()
    conn = tcp.Connection(ours, None, reactor)
    conn.connected = True
    yield conn, peer, reactor
    ours.close()
    peer.close()


def _read_all(peer: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = peer.recv(size - len(got))
        assert chunk
        got += chunk
    return got


def test_a_frame_reaches_the_peer_without_waiting_for_the_reactor(connection):
    conn, peer, reactor = connection
    peer.settimeout(1)
    conn.write(b"hello")
    assert peer.recv(100) == b"hello"
    assert reactor.writers == []  # no epoll registration, no trip round the loop


def test_what_the_socket_cannot_take_waits_and_everything_arrives_in_order(connection):
    conn, peer, reactor = connection
    big = bytes(range(256)) * 40_000  # 10 MB: far past any socket buffer
    conn.write(big)
    conn.write(b"after")  # must queue behind the rest of `big`, not jump ahead
    assert reactor.writers == [conn]
    got = b""
    while reactor.writers:
        peer.setblocking(False)
        try:
            while True:
                chunk = peer.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
        except BlockingIOError:
            pass
        conn.doWrite()
    peer.setblocking(True)
    got += _read_all(peer, len(big) + 5 - len(got))
    assert got == big + b"after"


def test_a_write_to_a_peer_that_left_ends_the_connection_as_twisted_does(connection):
    """No exception at the writer; the connection's next turn reports it lost."""
    conn, peer, reactor = connection
    peer.close()
    conn.write(b"x" * 10)
    assert reactor.writers == [conn]
    assert isinstance(conn.doWrite(), Exception)


def test_it_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("PARLEY_TCP_WRITE_AT_ONCE", "0")
    monkeypatch.setattr(tcp.Connection, "write", tcp_write._original_write)
    tcp_write.install()
    assert tcp.Connection.write is tcp_write._original_write
    monkeypatch.setenv("PARLEY_TCP_WRITE_AT_ONCE", "1")
    tcp_write.install()
    assert tcp.Connection.write is tcp_write._write_at_once
