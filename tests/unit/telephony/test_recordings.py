"""The recording client against real local HTTP servers: what is checked is what is fetched, credentials go nowhere
else, and a hostile server (redirects, huge or endless files, a slow drip) costs little and is told apart from a
passing fault."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from telephony.recordings import (
    RecordingClient,
    RecordingFetchError,
    RecordingHostNotAllowed,
    RecordingNotReady,
    RecordingRefused,
    RecordingTooLarge,
    host_allowed,
    parse_recording_url,
)
from tests.recording_servers import LocalServer, announce, audio, basic_auth, drip, flood, status

SID = "AC" + "1" * 32
TOKEN = "recording-test-token"
PATH = f"/2010-04-01/Accounts/{SID}/Recordings/RE" + "2" * 32
WAV = b"RIFF" + bytes(200)


def client(allowed: tuple[str, ...], **limits: float) -> RecordingClient:
    return RecordingClient(SID, TOKEN, allowed, **limits)  # type: ignore[arg-type]


@pytest.fixture
def twilio() -> Iterator[LocalServer]:
    """The allowed server, serving the recording."""
    with LocalServer(audio(WAV)) as server:
        yield server


@pytest.fixture
def thief() -> Iterator[LocalServer]:
    """A server on another loopback address that must never hear from us."""
    with LocalServer(status(200, "OK"), host="127.0.0.2") as server:
        yield server


def test_the_request_goes_where_the_url_was_checked_with_the_credentials(twilio: LocalServer) -> None:
    body, content_type = client(("127.0.0.1",)).download(twilio.url(PATH))
    assert body == WAV and content_type == "audio/x-wav"
    [request] = twilio.requests
    assert (request.method, request.target) == ("GET", PATH + ".wav")
    assert request.headers["host"] == twilio.netloc
    assert request.headers["authorization"] == basic_auth(SID, TOKEN)


def test_a_backslash_before_userinfo_does_not_send_the_credentials_elsewhere(
    twilio: LocalServer, thief: LocalServer
) -> None:
    # urlsplit reads the host after "@"; an HTTP client that stops the authority at the backslash connects to the
    # host before it. Both readings must never differ: such a URL is refused.
    for allowed in (("127.0.0.1",), (twilio.netloc,)):
        for url in (
            f"http://{thief.netloc}\\@{twilio.netloc}{PATH}",
            f"http://127.0.0.1:{thief.port}\\@{twilio.netloc}{PATH}",
        ):
            with pytest.raises(RecordingHostNotAllowed):
                client(allowed).download(url)
            assert not host_allowed(url, allowed)
    assert thief.requests == [] and twilio.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@api.twilio.com/x",
        "https://evil.example\\\\@api.twilio.com/x",
        "https://api.twilio.com\\.evil.example/x",
        "https://user:pass@api.twilio.com/x",
        "https://@api.twilio.com/x",
        "https://api.twilio.com@evil.example/x",
        "https://api.twilio.com /x",
        "https://api.twilio.com/x y",
        "https://api.twilio.com/x\ty",
        "https://api.twilio.com/x\r\nHost: evil.example",
        "https://api.twilio.com/x\x00",
        " https://api.twilio.com/x",
        "https://api.twilio.com/\x7f",
        "https://api.twilio.com\u3002evil.example/x",
        "https://\uff41pi.twilio.com/x",
        "https://api.twilio.com%2eevil.example/x",
        "https://api.twilio.com#@evil.example/x",
        "ftp://api.twilio.com/x",
        "file:///etc/passwd",
        "//api.twilio.com/x",
        "api.twilio.com/x",
        "http://api.twilio.com/x",  # the credentials would cross the network in clear
        "https://api.twilio.com:8443/x",
        "https://api.twilio.com:443:80/x",
        "https://api.twilio.com:/x",
        "https://api.twilio.com:0/x",
        "https://api.twilio.com:99999/x",
        "https://api.twilio.com:+443/x",
        "https://api.twilio.com.evil.example/x",
        "https://evil.example/api.twilio.com",
        "https://[::1]/x",
        "",
    ],
)
def test_refused_recording_urls(url: str) -> None:
    assert not host_allowed(url, ("api.twilio.com",))
    with pytest.raises(RecordingHostNotAllowed):
        parse_recording_url(url, ("api.twilio.com",))


def test_allowed_recording_urls() -> None:
    twilio = parse_recording_url(f"https://api.twilio.com{PATH}", ("api.twilio.com",))
    assert (twilio.scheme, twilio.host, twilio.port, twilio.target) == ("https", "api.twilio.com", 443, PATH)
    assert parse_recording_url(f"HTTPS://API.Twilio.COM:443{PATH}?x=1", ("api.twilio.com",)).target == PATH + "?x=1"
    # A port other than the scheme's is allowed when the entry names it ...
    assert parse_recording_url("https://rec.example:8443/x", ("rec.example:8443",)).port == 8443
    assert not host_allowed("https://rec.example:8444/x", ("rec.example:8443",))
    assert not host_allowed("https://rec.example/x", ("rec.example:8443",))
    # ... and a loopback stand-in (the simulator, tests) serves on any port, over http too.
    assert parse_recording_url("http://127.0.0.1:18199/x", ("127.0.0.1",)).port == 18199
    assert parse_recording_url("http://[::1]:18199/x", ("::1",)).host == "::1"
    assert not host_allowed("http://127.0.0.1:18199/x", ("127.0.0.1:18200",))


def test_a_redirect_is_refused_for_good_and_not_followed(thief: LocalServer) -> None:
    with LocalServer(status(302, "Found", {"Location": thief.url(PATH)})) as twilio:
        with pytest.raises(RecordingRefused, match="redirect"):
            client(("127.0.0.1",)).download(twilio.url(PATH))
        assert len(twilio.requests) == 1
    assert thief.requests == []


def test_an_announced_oversized_file_is_refused_before_its_body_is_read() -> None:
    with LocalServer(announce(10**12)) as twilio:
        started = time.monotonic()
        with pytest.raises(RecordingTooLarge, match="1000000000000 bytes"):
            client(("127.0.0.1",), max_bytes=1000).download(twilio.url(PATH))
        assert time.monotonic() - started < 2


def test_an_unannounced_oversized_file_is_cut_at_the_limit() -> None:
    with LocalServer(flood(50_000)) as twilio:
        with pytest.raises(RecordingTooLarge, match="1000"):
            client(("127.0.0.1",), max_bytes=1000).download(twilio.url(PATH))


def test_a_file_just_within_the_limit_is_fetched_without_a_length() -> None:
    with LocalServer(flood(1000)) as twilio:
        body, _ = client(("127.0.0.1",), max_bytes=1000).download(twilio.url(PATH))
    assert len(body) == 1000


@pytest.mark.parametrize("head_too", [False, True], ids=["body", "head"])
def test_a_slow_drip_is_cut_by_the_total_deadline_not_a_per_read_timeout(head_too: bool) -> None:
    # Each byte comes well within the per-read timeout; the whole answer would take 12 s.
    with LocalServer(drip(b"x" * 40, 0.3, head_too=head_too)) as twilio:
        started = time.monotonic()
        with pytest.raises(RecordingFetchError, match="deadline") as raised:
            client(("127.0.0.1",), timeout=5, deadline=1.0).download(twilio.url(PATH))
        assert time.monotonic() - started < 2.5
    assert not isinstance(raised.value, RecordingRefused)  # a slow server may be faster next time


def test_a_missing_recording_is_worth_retrying() -> None:
    with LocalServer(status(404, "Not Found")) as twilio:
        with pytest.raises(RecordingNotReady):
            client(("127.0.0.1",)).download(twilio.url(PATH))


def test_a_server_error_or_a_closed_port_is_worth_retrying() -> None:
    with LocalServer(status(503, "Service Unavailable")) as twilio:
        with pytest.raises(RecordingFetchError, match="503") as raised:
            client(("127.0.0.1",)).download(twilio.url(PATH))
        assert not isinstance(raised.value, RecordingRefused)
        port = twilio.port
    with pytest.raises(RecordingFetchError) as raised:
        client(("127.0.0.1",), timeout=2).download(f"http://127.0.0.1:{port}{PATH}")
    assert not isinstance(raised.value, RecordingRefused)
