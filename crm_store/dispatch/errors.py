"""Named errors of dispatch; the gateway maps them to HTTP statuses."""

from __future__ import annotations

from crm_store.errors import NotFound, StoreError


class DispatchNotFound(NotFound):
    """No dispatch request of that id."""


class SurveyorNotFound(NotFound):
    """No staff member of that username with role surveyor (or no profile yet)."""


class VendorNotFound(NotFound):
    """No active vendor of that id."""


class UnitNotFound(NotFound):
    """No org unit of that id."""


class InvalidDispatch(StoreError):
    """The request cannot be opened as given (no unit to place it in, no place for a draft, ...)."""


class WrongState(StoreError):
    """The request (or assignment) is not in a state that allows this step."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class NotAvailable(StoreError):
    """The surveyor or vendor cannot take the request: off duty, outside the shift, lacking the skill or service,
    or at capacity."""


class NotYours(StoreError):
    """A surveyor tried to act on an assignment that is not theirs."""
