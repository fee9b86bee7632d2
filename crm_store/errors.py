"""Small named errors of the store; the gateway maps them to HTTP answers."""


class StoreError(Exception):
    """Base of the store's errors."""


class NotFound(StoreError):
    """A record asked for by id does not exist (or is outside the caller's scope)."""


class CallNotFound(NotFound):
    """No call with this CallSid."""


class CustomerNotFound(NotFound):
    """No customer with this id or phone number."""


class InvalidToken(StoreError):
    """The bearer token is unknown or revoked."""


class ClaimNotFound(NotFound):
    """No claim with this id (or its customer is outside the caller's scope)."""


class ServiceTaskNotFound(NotFound):
    """No service task with this id (or its customer is outside the caller's scope)."""
