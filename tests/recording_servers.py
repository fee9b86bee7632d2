"""Real HTTP servers on loopback addresses for the recording fetch: well-behaved, hostile, or listening for stolen
credentials. Each records the requests it got (request line and headers) and answers them with one behaviour."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Answer = Callable[[socket.socket], None]


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """A TCP server on `host` (any free port) speaking just enough HTTP/1.1: it reads a request head and hands the
    socket to `answer`."""

    def __init__(self, answer: Answer, *, host: str = "127.0.0.1") -> None:
        self.answer = answer
        self.host = host
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self._listener = socket.create_server((host, 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name=f"local-server-{self.port}")
        self._thread.start()

    def url(self, path: str = "/2010-04-01/Accounts/AC1/Recordings/RE1") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    piece = conn.recv(4096)
                    if not piece:
                        return
                    head += piece
                lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self.requests.append(Request(method, target, headers))
                self.answer(conn)
            except OSError:
                pass  # the client hung up: what several answers wait for
            except BaseException as err:  # shown by the test that reads `errors`
                self.errors.append(err)

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the waiting accept()
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def basic_auth(account_sid: str, auth_token: str) -> str:
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def audio(body: bytes) -> Answer:
    """A recording served whole, with its length."""

    def answer(conn: socket.socket) -> None:
        headers = {"Content-Type": "audio/x-wav", "Content-Length": str(len(body)), "Connection": "close"}
        conn.sendall(_head("200 OK", headers) + body)

    return answer


def status(code: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
    """An empty answer with this status (a redirect names its Location in `headers`)."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head(f"{code} {reason}", {"Content-Length": "0", "Connection": "close", **(headers or {})}))

    return answer


def drip(body: bytes, every: float, *, head_too: bool = False) -> Answer:
    """One byte every `every` seconds: of the body (announced with its length), or of the whole answer."""

    def answer(conn: socket.socket) -> None:
        head = _head("200 OK", {"Content-Type": "audio/x-wav", "Content-Length": str(len(body))})
        if not head_too:
            conn.sendall(head)
        data = head + body if head_too else body
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(every)

    return answer


def announce(length: int) -> Answer:
    """A header promising `length` bytes, then data trickling for as long as the client listens."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", {"Content-Type": "audio/x-wav", "Content-Length": str(length)}))
        for _ in range(600):
            conn.sendall(b"\0" * 1024)
            time.sleep(0.05)

    return answer


def flood(total: int) -> Answer:
    """`total` bytes with no announced length (the end of the connection ends the body)."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", {"Content-Type": "audio/x-wav", "Connection": "close"}))
        sent = 0
        while sent < total:
            conn.sendall(b"\0" * min(1024, total - sent))
            sent += 1024

    return answer
