"""Named errors of dispatch; the gateway maps them to HTTP statuses."""

from __future__ import annotations

from crm_store.errors import NotFound
from crm_store.validation import Conflict, InvalidInput, NotAllowed


class DispatchNotFound(NotFound):
    """No dispatch request of that id."""


class SurveyorNotFound(NotFound):
    """No staff member of that username with role surveyor (or no profile yet)."""


class VendorNotFound(NotFound):
    """No active vendor of that id."""


class UnitNotFound(NotFound):
    """No org unit of that id."""


class InvalidDispatch(InvalidInput):
    """The request cannot be opened as given (no unit to place it in, no place for a draft, ...): 422."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(fields or {}, message)


class DispatchConflict(Conflict):
    """A step that collides with where the request or the one sent stands (409); `fields` names what collides."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(fields or {}, message)


class WrongState(DispatchConflict):
    """The request (or assignment) is not in a state that allows this step."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message, fields={"state": state})
        self.state = state


class NotAvailable(DispatchConflict):
    """The surveyor or vendor cannot take the request: off duty, outside the shift, lacking the skill or service,
    or at capacity."""


class NotYours(NotAllowed):
    """Someone tried to answer or step an assignment that is not theirs (a surveyor's is answered by them only)."""
