"""Twilio voice webhooks as typed values: parsed strictly where it matters, open to new fields."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from telephony.errors import TelephonyError

CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")
CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
MAX_FIELD_LENGTH = 4096


class MalformedWebhook(TelephonyError):
    """A webhook body is missing a field Twilio always sends, or a field is not what Twilio sends."""


def _required(form: Mapping[str, str], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = form.get(name)
    if value is None or value == "":
        raise MalformedWebhook(f"missing field {name}")
    if pattern is not None and not pattern.match(value):
        raise MalformedWebhook(f"field {name} is not a valid Twilio identifier")
    return value


def _optional_int(form: Mapping[str, str], name: str) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as err:
        raise MalformedWebhook(f"field {name} must be an integer") from err
    if number < 0:
        raise MalformedWebhook(f"field {name} must not be negative")
    return number


def _timestamp(form: Mapping[str, str]) -> datetime | None:
    value = form.get("Timestamp")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # an unreadable timestamp costs us only precision, never the callback


def _check_lengths(form: Mapping[str, str]) -> None:
    for name, value in form.items():
        if len(name) > 256 or len(value) > MAX_FIELD_LENGTH:
            raise MalformedWebhook(f"field {name[:40]!r} is too long")


def _payload_digest(form: Mapping[str, str]) -> str:
    body = "&".join(f"{k}={form[k]}" for k in sorted(form))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CallFields:
    """Fields every voice webhook carries about the call itself."""

    call_sid: str
    account_sid: str
    from_number: str
    to_number: str
    direction: str | None
    status: str

    def as_record(self) -> dict[str, str | None]:
        return {
            "account_sid": self.account_sid,
            "from_number": self.from_number,
            "to_number": self.to_number,
            "direction": self.direction,
        }


def parse_call_fields(form: Mapping[str, str]) -> CallFields:
    """The call fields of any voice webhook, or MalformedWebhook."""
    _check_lengths(form)
    status = _required(form, "CallStatus")
    if status not in CALL_STATUSES:
        raise MalformedWebhook(f"unknown CallStatus {status[:40]!r}")
    return CallFields(
        call_sid=_required(form, "CallSid", CALL_SID),
        account_sid=_required(form, "AccountSid", ACCOUNT_SID),
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        direction=form.get("Direction") or None,
        status=status,
    )


@dataclass(frozen=True)
class StatusCallback:
    call: CallFields
    sequence_number: int | None
    timestamp: datetime | None
    call_duration: int | None

    def dedup_key(self, idempotency_token: str | None) -> str:
        """(CallSid, SequenceNumber) identifies a delivery; failing that Twilio's token or the body."""
        if self.sequence_number is not None:
            return f"status:{self.call.call_sid}:{self.sequence_number}"
        return f"status:{self.call.call_sid}:{idempotency_token or ''}"


def parse_status_callback(form: Mapping[str, str]) -> StatusCallback:
    """A call-progress callback, or MalformedWebhook."""
    return StatusCallback(
        call=parse_call_fields(form),
        sequence_number=_optional_int(form, "SequenceNumber"),
        timestamp=_timestamp(form),
        call_duration=_optional_int(form, "CallDuration"),
    )


@dataclass(frozen=True)
class RecordingCallback:
    call_sid: str
    account_sid: str
    recording_sid: str
    recording_url: str
    status: str
    duration: int | None
    channels: int | None
    error_code: str | None

    @property
    def dedup_key(self) -> str:
        return f"recording:{self.recording_sid}:{self.status}"


def parse_recording_callback(form: Mapping[str, str]) -> RecordingCallback:
    """A recording status callback, or MalformedWebhook."""
    _check_lengths(form)
    status = _required(form, "RecordingStatus")
    if status not in RECORDING_STATUSES:
        raise MalformedWebhook(f"unknown RecordingStatus {status[:40]!r}")
    url = form.get("RecordingUrl", "")
    if status == "completed" and not url:
        raise MalformedWebhook("missing field RecordingUrl")
    channels = _optional_int(form, "RecordingChannels")
    if channels is not None and channels not in (1, 2):
        raise MalformedWebhook("RecordingChannels must be 1 or 2")
    return RecordingCallback(
        call_sid=_required(form, "CallSid", CALL_SID),
        account_sid=_required(form, "AccountSid", ACCOUNT_SID),
        recording_sid=_required(form, "RecordingSid", RECORDING_SID),
        recording_url=url,
        status=status,
        duration=_optional_int(form, "RecordingDuration"),
        channels=channels,
        error_code=form.get("ErrorCode") or None,
    )


def voice_dedup_key(call: CallFields, idempotency_token: str | None, form: Mapping[str, str]) -> str:
    """A redelivered incoming-call webhook has the same token (or the same body)."""
    return f"voice:{call.call_sid}:{idempotency_token or _payload_digest(form)}"
