"""X-Twilio-Signature checks over the URL Twilio called, rebuilt from the public base URL."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


class TwilioSignature:
    """Validates Twilio's signature of a webhook with the account's auth token."""

    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_base_url.rstrip("/")

    def public_url(self, path_qs: str) -> str:
        """The URL as Twilio called it: scheme and host from the public base URL, never the socket."""
        return self._base + path_qs

    def is_valid(self, path_qs: str, params: Mapping[str, str], signature: str | None) -> bool:
        """True only for a signature Twilio made over this URL and these fields."""
        if not signature:
            return False
        url = self.public_url(path_qs)
        # Twilio's validator tries the URL with and without its port, two HMACs and a URL parse per webhook; the
        # URL as configured is always one of the two, and the one Twilio signs: check it first, the validator's
        # full check only when it does not match (a genuine request signed over the other form, or a forgery).
        computed = str(self._validator.compute_signature(url, params))
        if hmac.compare_digest(computed.encode(), signature.encode("utf-8", "replace")):
            return True
        return bool(self._validator.validate(url, params, signature))

    def socket_url(self, path: str) -> str:
        """The WebSocket URL Twilio opens for a media stream: wss:// for an https base (ws:// for http)."""
        scheme, _, rest = self._base.partition("://")
        return {"https": "wss", "http": "ws"}.get(scheme, scheme) + "://" + rest + path

    def is_valid_socket(self, path: str, signature: str | None) -> bool:
        """True only for Twilio's signature of a media stream's upgrade: over the socket URL, no parameters."""
        if not signature:
            return False
        computed = str(self._validator.compute_signature(self.socket_url(path), {}))
        return hmac.compare_digest(computed.encode(), signature.encode("utf-8", "replace"))

    def sign_socket(self, path: str) -> str:
        """The signature Twilio sends on a media stream's upgrade (used by the call simulator and tests)."""
        return str(self._validator.compute_signature(self.socket_url(path), {}))

    def sign(self, path_qs: str, params: Mapping[str, str]) -> str:
        """The signature Twilio would send (used by the call simulator and tests)."""
        return str(self._validator.compute_signature(self.public_url(path_qs), dict(params)))
