"""Named errors of the telephony package."""


class TelephonyError(Exception):
    """Base class of every error raised by the telephony package."""


class AudioDecodeError(TelephonyError):
    """The bytes are not audio this service can decode; the message says why."""


class SpeechEngineError(TelephonyError):
    """A speech engine could not be loaded or failed to transcribe."""
