"""Playing Twilio in tests: webhook bodies and signatures exactly as Twilio sends them."""

from __future__ import annotations

import secrets
from typing import Any

from telephony.signature import TwilioSignature
from workers.settings import Settings


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def recording_sid() -> str:
    return "RE" + secrets.token_hex(16)


def call_params(
    settings: Settings, sid: str, *, status: str = "ringing", caller: str = "+821012345678", **extra: str
) -> dict[str, str]:
    """The fields every voice webhook carries."""
    return {
        "AccountSid": settings.twilio_account_sid,
        "CallSid": sid,
        "From": caller,
        "To": "+8215881234",
        "CallStatus": status,
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
        **extra,
    }


def signed_headers(settings: Settings, path: str, params: dict[str, str], **extra: str) -> dict[str, str]:
    """Headers Twilio sends with a webhook, signature included."""
    signature = TwilioSignature(settings.twilio_auth_token, settings.base_url).sign(path, params)
    return {
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        "User-Agent": "TwilioProxy/1.1",
        **extra,
    }


async def post_signed(client: Any, settings: Settings, path: str, params: dict[str, str], **headers: str) -> Any:
    """POST a correctly signed webhook through an aiohttp test client."""
    return await client.post(path, data=params, headers=signed_headers(settings, path, params, **headers))
