"""X-Twilio-Signature checks over the URL Twilio called, rebuilt from the public base URL."""

from __future__ import annotations

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
        return bool(self._validator.validate(self.public_url(path_qs), params, signature))

    def sign(self, path_qs: str, params: Mapping[str, str]) -> str:
        """The signature Twilio would send (used by the call simulator and tests)."""
        return str(self._validator.compute_signature(self.public_url(path_qs), dict(params)))
