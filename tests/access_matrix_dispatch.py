"""The dispatch lines of the access matrix (tests/access_matrix.py) beyond its own dispatch section: the board's
one-change read, and the tow and rescue vendors through the API and the console. Importing this module adds them to
MATRIX and EXPECTED.

A vendor serves a county branch of each side (tests.dispatch_api_helpers.MATRIX_VENDORS). A board member sees a
vendor that serves a unit in their part or above their own unit (404 otherwise) and may change it only when all its
service units lie in their part (403 otherwise); the probes change nothing (active stays true; a registration
without services, or a capacity of 0, is refused, 422, and a console form shows the page again with that error)."""

from collections.abc import Callable

from crm_store.dispatch.access import BOARD_ROLES
from tests.access_matrix import EXPECTED, MATRIX, Target, _unit
from tests.dispatch_api_helpers import MATRIX_REQUESTS, MATRIX_VENDORS
from tests.review_helpers import World


def _board(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: ok if w.staff[u]["role"] in BOARD_ROLES else 403


def _vendor(ok: int) -> Callable[[World, str, Target], int]:
    """The board `ok` for the vendor of the target's county when it serves their part, 404 otherwise."""

    def answer(w: World, u: str, t: Target) -> int:
        if w.staff[u]["role"] not in BOARD_ROLES:
            return 403
        county = _unit(w, t)
        serves = w.sees_unit(u, county) or w.paths[w.staff[u]["unit"]].startswith(w.paths[county])
        return ok if serves else 404

    return answer


def _vendor_path(prefix: str) -> Callable[[World, Target], tuple[str, dict[str, str], object]]:
    return lambda w, t: (f"{prefix}/{MATRIX_VENDORS[t]}", {}, None)


MATRIX.update({
    # The board's read of what one frame names: the request's row in scope, "gone" outside it (both 200).
    ("GET", "/console/dispatch/live/change"): lambda w, t: (
        "/console/dispatch/live/change", {"request": str(MATRIX_REQUESTS[t])}, None),
    ("GET", "/api/v1/vendors"): lambda w, t: ("/api/v1/vendors", {}, None),
    ("POST", "/api/v1/vendors"): lambda w, t: (
        "/api/v1/vendors", {}, {"name": "matrix", "services": [], "service_unit_ids": [_unit(w, t)]}),
    ("GET", "/api/v1/vendors/{vendor_id}"): _vendor_path("/api/v1/vendors"),
    ("PATCH", "/api/v1/vendors/{vendor_id}"): lambda w, t: (
        f"/api/v1/vendors/{MATRIX_VENDORS[t]}", {}, {"active": True}),
    ("GET", "/console/dispatch/vendors"): lambda w, t: ("/console/dispatch/vendors", {}, None),
    ("POST", "/console/dispatch/vendors"): lambda w, t: ("/console/dispatch/vendors", {}, {"name": "matrix"}),
    ("GET", "/console/dispatch/vendors/{vendor_id}"): _vendor_path("/console/dispatch/vendors"),
    ("POST", "/console/dispatch/vendors/{vendor_id}"): lambda w, t: (
        f"/console/dispatch/vendors/{MATRIX_VENDORS[t]}", {}, {"capacity": "0"}),
})  # fmt: skip
EXPECTED.update({
    ("GET", "/console/dispatch/live/change"): _board(200),
    ("GET", "/api/v1/vendors"): _board(200),
    ("POST", "/api/v1/vendors"): _board(422),
    ("GET", "/api/v1/vendors/{vendor_id}"): _vendor(200),
    # A county's vendor lies wholly in the part of everyone who sees it.
    ("PATCH", "/api/v1/vendors/{vendor_id}"): _vendor(200),
    ("GET", "/console/dispatch/vendors"): _board(200),
    ("POST", "/console/dispatch/vendors"): _board(422),
    ("GET", "/console/dispatch/vendors/{vendor_id}"): _vendor(200),
    ("POST", "/console/dispatch/vendors/{vendor_id}"): _vendor(422),
})  # fmt: skip
