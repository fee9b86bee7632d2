"""Recordings fetched from Twilio's REST API with the account's credentials, from allowed hosts only.

A recording URL is parsed once, strictly, into scheme, host, port and request target, and the request is made from
those parts: what is checked is what is fetched. HTTP libraries and URL parsers disagree on odd URLs (a backslash
before userinfo, whitespace, control characters), so anything odd is refused rather than interpreted.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi

from telephony.errors import TelephonyError

DEFAULT_PORTS = {"https": 443, "http": 80}
# Printable ASCII without space, backslash or anything else a parser might read two ways.
_URL_CHARS = re.compile(r"[!#-\[\]-~]+")
_AUTHORITY = re.compile(r"(?P<host>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
_LOOPBACK_NAMES = ("localhost",)


class RecordingFetchError(TelephonyError):
    """The recording could not be downloaded (network, status code, deadline); another attempt may succeed."""


class RecordingNotReady(RecordingFetchError):
    """Twilio answered 404: the file may not be there yet; worth retrying."""


class RecordingRefused(RecordingFetchError):
    """Retrying cannot help: the URL or the server's answer is one we will not follow or accept."""


class RecordingHostNotAllowed(RecordingRefused):
    """The recording URL points outside HOTLINE_RECORDING_HOSTS, or is not a URL we read one way only."""


class RecordingRedirected(RecordingRefused):
    """The server answered with a redirect; credentials are never taken elsewhere."""


class RecordingTooLarge(RecordingRefused):
    """The recording is larger than the limit (announced, or found while reading)."""


@dataclass(frozen=True)
class RecordingLocation:
    """A checked recording URL, in the parts the request is made from."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent on the request line

    def with_extension(self, fmt: str) -> RecordingLocation:
        """The location of the file in format `fmt` (Twilio serves RecordingUrl + '.wav')."""
        path, sep, query = self.target.partition("?")
        if not path.endswith(f".{fmt}"):
            path = f"{path}.{fmt}"
        return RecordingLocation(self.scheme, self.host, self.port, path + sep + query)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listed(host: str, port: int, scheme: str, allowed_hosts: tuple[str, ...]) -> bool:
    """An entry `host:port` allows that port; a bare `host` allows its scheme's port, any port on loopback."""
    shown = f"[{host}]" if ":" in host else host
    if f"{shown}:{port}" in allowed_hosts or (":" in host and f"{host}:{port}" in allowed_hosts):
        return True
    if host in allowed_hosts or shown in allowed_hosts:
        return port == DEFAULT_PORTS[scheme] or _is_loopback(host)
    return False


def parse_recording_url(url: str, allowed_hosts: tuple[str, ...]) -> RecordingLocation:
    """The URL's parts if we may send the account's credentials there; RecordingHostNotAllowed otherwise."""

    def refuse(why: str) -> RecordingHostNotAllowed:
        return RecordingHostNotAllowed(f"recording URL refused ({why}); hosts allowed by HOTLINE_RECORDING_HOSTS only")

    if not _URL_CHARS.fullmatch(url):
        raise refuse("empty, or whitespace, a backslash, a control or non-ASCII character in it")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise refuse(f"scheme {parts.scheme!r}")
    if "@" in parts.netloc:
        raise refuse("user information in the address")
    if parts.fragment or "#" in url:
        raise refuse("a fragment")
    authority = _AUTHORITY.fullmatch(parts.netloc.lower())
    if authority is None:
        raise refuse(f"host {parts.netloc!r}")
    host = authority["host"].strip("[]")
    port = int(authority["port"]) if authority["port"] is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise refuse(f"port {port}")
    if not _listed(host, port, scheme, allowed_hosts):
        raise refuse(f"host {parts.netloc!r} is not in HOTLINE_RECORDING_HOSTS")
    if scheme == "http" and not _is_loopback(host):
        raise refuse("http to a host off this machine would send the credentials in clear")
    path = parts.path or "/"
    if not path.startswith("/"):
        raise refuse("a relative path")
    return RecordingLocation(scheme, host, port, path + (f"?{parts.query}" if parts.query else ""))


def host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """True when credentials may be sent to this URL (see parse_recording_url)."""
    try:
        parse_recording_url(url, allowed_hosts)
    except RecordingHostNotAllowed:
        return False
    return True


def check_recording_url(url: str, allowed_hosts: tuple[str, ...]) -> None:
    """Raise RecordingHostNotAllowed for a URL we must not send credentials to."""
    parse_recording_url(url, allowed_hosts)


class _Deadline:
    """Cuts a connection at a moment: shutting the socket down wakes whatever read is waiting on it."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.passed = False
        self._connection = connection
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        self.passed = True
        sock = self._connection.sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def remaining(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            self.passed = True
        return max(left, 0.0)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


class RecordingClient:
    """Downloads recordings with HTTP Basic auth (account SID and auth token), within a size limit and a total
    deadline; never follows a redirect."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        allowed_hosts: tuple[str, ...],
        *,
        max_bytes: int = 100 * 1024 * 1024,
        timeout: float = 30.0,
        deadline: float = 60.0,
    ) -> None:
        self._authorization = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._allowed = allowed_hosts
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._deadline = deadline
        self._tls = ssl.create_default_context(cafile=certifi.where())

    def _connection(self, where: RecordingLocation, timeout: float) -> http.client.HTTPConnection:
        if where.scheme == "https":
            return http.client.HTTPSConnection(where.host, where.port, timeout=timeout, context=self._tls)
        return http.client.HTTPConnection(where.host, where.port, timeout=timeout)

    def download(self, recording_url: str, *, fmt: str = "wav") -> tuple[bytes, str]:
        """The recording (Twilio serves RecordingUrl + '.wav'), with its content type."""
        where = parse_recording_url(recording_url, self._allowed).with_extension(fmt)
        connection = self._connection(where, min(self._timeout, self._deadline))
        try:
            with _Deadline(connection, self._deadline) as deadline:
                try:
                    return self._fetch(connection, where, deadline)
                except (OSError, http.client.HTTPException) as err:
                    if deadline.passed:
                        raise self._late(deadline) from err
                    raise RecordingFetchError(f"recording download failed: {type(err).__name__}") from err
        finally:
            connection.close()

    def _late(self, deadline: _Deadline) -> RecordingFetchError:
        return RecordingFetchError(f"recording download exceeded its {deadline.seconds:g} s deadline")

    def _fetch(
        self, connection: http.client.HTTPConnection, where: RecordingLocation, deadline: _Deadline
    ) -> tuple[bytes, str]:
        connection.request(
            "GET", where.target, headers={"Authorization": self._authorization, "Accept-Encoding": "identity"}
        )
        with connection.getresponse() as answer:
            return self._read(answer, where, deadline)

    def _read(
        self, answer: http.client.HTTPResponse, where: RecordingLocation, deadline: _Deadline
    ) -> tuple[bytes, str]:
        if answer.status == 404:
            raise RecordingNotReady(f"recording not found (yet) at {where.target}")
        if 300 <= answer.status < 400:
            raise RecordingRedirected(f"recording download answered HTTP {answer.status} (a redirect; not followed)")
        if answer.status != 200:
            raise RecordingFetchError(f"recording download answered HTTP {answer.status}")
        announced = answer.getheader("Content-Length")
        if announced is not None and announced.strip().isdigit() and int(announced) > self._max_bytes:
            raise RecordingTooLarge(f"recording of {int(announced)} bytes is over the {self._max_bytes} byte limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            if deadline.remaining() == 0:
                raise self._late(deadline)
            chunk = answer.read1(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > self._max_bytes:
                raise RecordingTooLarge(f"recording over the {self._max_bytes} byte limit")
            chunks.append(chunk)
        if deadline.passed:  # a cut connection ends the body like a close does
            raise self._late(deadline)
        if answer.length:  # fewer bytes than announced
            raise RecordingFetchError(f"recording download ended {answer.length} bytes early")
        return b"".join(chunks), answer.getheader("Content-Type", "application/octet-stream")

    def close(self) -> None:
        """Nothing is kept between downloads (one connection per recording)."""
