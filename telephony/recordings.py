"""Recordings fetched from Twilio's REST API with the account's credentials, from allowed hosts only."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests

from telephony.errors import TelephonyError

log = logging.getLogger(__name__)


class RecordingHostNotAllowed(TelephonyError):
    """The recording URL points outside HOTLINE_RECORDING_HOSTS."""


class RecordingFetchError(TelephonyError):
    """The recording could not be downloaded (network, status code, size)."""


class RecordingNotReady(RecordingFetchError):
    """Twilio answered 404: the file may not be there yet; worth retrying."""


def host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """True when the URL is http(s) and its host (or host:port) is listed."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    return host in allowed_hosts or netloc in allowed_hosts


def check_recording_url(url: str, allowed_hosts: tuple[str, ...]) -> None:
    """Raise RecordingHostNotAllowed for a URL we must not send credentials to."""
    if not host_allowed(url, allowed_hosts):
        raise RecordingHostNotAllowed(f"recording host {urlsplit(url).netloc!r} is not in HOTLINE_RECORDING_HOSTS")


class RecordingClient:
    """Downloads recordings with HTTP Basic auth (account SID and auth token)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        allowed_hosts: tuple[str, ...],
        *,
        max_bytes: int = 100 * 1024 * 1024,
        timeout: float = 30.0,
    ) -> None:
        self._auth = (account_sid, auth_token)
        self._allowed = allowed_hosts
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._http = requests.Session()

    def download(self, recording_url: str, *, fmt: str = "wav") -> tuple[bytes, str]:
        """The recording as WAV (Twilio serves RecordingUrl + '.wav'), with its content type."""
        check_recording_url(recording_url, self._allowed)
        url = recording_url if recording_url.endswith(f".{fmt}") else f"{recording_url}.{fmt}"
        try:
            with self._http.get(
                url, auth=self._auth, timeout=self._timeout, stream=True, allow_redirects=False
            ) as answer:
                if answer.status_code == 404:
                    raise RecordingNotReady(f"recording not found (yet) at {urlsplit(url).path}")
                if answer.status_code != 200:
                    raise RecordingFetchError(f"recording download answered HTTP {answer.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in answer.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise RecordingFetchError(f"recording larger than {self._max_bytes} bytes")
                    chunks.append(chunk)
                content_type = answer.headers.get("Content-Type", "application/octet-stream")
        except requests.RequestException as err:
            raise RecordingFetchError(f"recording download failed: {type(err).__name__}") from err
        return b"".join(chunks), content_type

    def close(self) -> None:
        self._http.close()
