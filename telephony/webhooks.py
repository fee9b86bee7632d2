"""Twilio voice webhooks as typed values: parsed strictly where it matters, open to new fields."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import orjson

from telephony.errors import TelephonyError

CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")
CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
MAX_FIELD_LENGTH = 4096
# What the store's integer columns hold (PostgreSQL integer): a larger count is kept only in the stored payload.
MAX_STORED_INT = 2**31 - 1


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
    """A count Twilio sends as plain digits; None when absent, or when beyond what the store's columns hold (the
    webhook is kept all the same: refusing it would lose it, Twilio does not resend after a 4xx)."""
    value = form.get(name)
    if value is None or value == "":
        return None
    if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
        raise MalformedWebhook(f"field {name} must not be negative")
    if not (value.isascii() and value.isdigit()):
        raise MalformedWebhook(f"field {name} must be an integer")
    if len(value) > len(str(MAX_STORED_INT)) or int(value) > MAX_STORED_INT:
        return None
    return int(value)


def _timestamp(form: Mapping[str, str]) -> datetime | None:
    """`Timestamp` (RFC 2822) in UTC; one without a zone (`-0000`) is taken as UTC."""
    value = form.get("Timestamp")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # an unreadable timestamp costs us only precision, never the callback


def _check_lengths(form: Mapping[str, str]) -> None:
    for name, value in form.items():
        if len(name) > 256 or len(value) > MAX_FIELD_LENGTH:
            raise MalformedWebhook(f"field {name[:40]!r} is too long")


def delivery_key(kind: str, call_sid: str, url: str, form: Mapping[str, str]) -> str:
    """What identifies one delivery of a webhook: a digest of what Twilio signed (the URL with its query, every
    field), never an unsigned header or the clock; a redelivery, or a replay, gets the same key. The kind, a valid
    CallSid and 64 hex digits: well within the key column."""
    # JSON (orjson, in C) quotes and escapes each string, so no two different contents read the same; text orjson
    # refuses (a lone surrogate) is written by repr instead, which escapes it.
    content = [url, sorted(form.items())]
    try:
        serialised = orjson.dumps(content)
    except orjson.JSONEncodeError:
        serialised = repr(content).encode()
    return f"{kind}:{call_sid}:{hashlib.sha256(serialised).hexdigest()}"


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

    def dedup_key(self, url: str, form: Mapping[str, str]) -> str:
        """(CallSid, SequenceNumber) identifies a delivery; failing that (none sent, or one beyond the store's
        integers), the signed content."""
        if self.sequence_number is not None:
            return f"status:{self.call.call_sid}:{self.sequence_number}"
        return delivery_key("status", self.call.call_sid, url, form)


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
    if form.get("RecordingChannels", "") not in ("", "1", "2"):
        raise MalformedWebhook("RecordingChannels must be 1 or 2")
    channels = _optional_int(form, "RecordingChannels")
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


def voice_dedup_key(call: CallFields, url: str, form: Mapping[str, str]) -> str:
    """A redelivered (or replayed) incoming-call webhook has the same signed content."""
    return delivery_key("voice", call.call_sid, url, form)
