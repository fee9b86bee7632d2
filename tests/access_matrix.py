"""Who gets what from every /api/v1/ route: how to call it for a customer inside and one outside the viewer's scope
(MATRIX) and the status each role at each level should get (EXPECTED), with the seeding the probes need; read by
tests/unit/gateway/test_access_matrix.py."""

import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import select

from crm_store.complaints import steps as complaint_steps
from crm_store.complaints.coordination import DEPARTMENT_KEEPERS, SUBTASK_SUPERVISORS
from crm_store.complaints.followup import ACTION_KEEPERS
from crm_store.db import session_scope
from crm_store.dispatch.access import BOARD_ROLES, FIELD_ROLES
from crm_store.org.scope import SUPERVISORS
from crm_store.org.tables import Role, Staff
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import StoredReport
from crm_store.validation import BUSINESS_TZ
from gateway.routes import PREFIX, ROUTES
from tests import complaint_helpers
from tests.dispatch_api_helpers import MATRIX_REQUESTS, MATRIX_SCENE, MATRIX_SURVEYORS
from tests.review_helpers import (
    PASSWORD,
    SPARE_TOKEN_HOLDERS,
    World,
)

Target = str  # "inside" or "outside"
# (method, canonical path) -> how to call it for a target: (path, query, json body) or None (not per customer).
Probe = Callable[[World, Target], tuple[str, dict[str, str], Any]]


def _c(world: World, t: Target) -> int:
    return world.customers[t]


def _unit(world: World, t: Target, *, city: bool = False) -> int:
    """The county branch of the target's customer (or the city branch above it)."""
    inside, outside = ("SEOUL-GANGNAM", "BUSAN-DONGBU") if city else ("SEOUL-GANGNAM-SEOCHO", "BUSAN-DONGBU-HAEUNDAE")
    return world.units[inside if t == "inside" else outside]


def _member(world: World, t: Target) -> int:
    """A staff member of the target's county branch (changed to what they already are: probes change nothing)."""
    return int(world.staff["agent.seocho" if t == "inside" else "operator.haeundae"]["id"])


def _reset_member(world: World, t: Target) -> int:
    """A staff member of the target's county branch whose password probes reset (a reset revokes their tokens)."""
    return world.reset_targets[t]


def add_reset_targets(world: World, engine: Any) -> None:
    with session_scope(engine) as session:
        for t, code in (("inside", "SEOUL-GANGNAM-SEOCHO"), ("outside", "BUSAN-DONGBU-HAEUNDAE")):
            staff = Staff(username=f"agent.reset.{t}", full_name="홍길동", role=Role.AGENT.value,
                          org_unit_id=world.units[code], clearance=1)  # fmt: skip
            session.add(staff)
            session.flush()
            world.reset_targets[t] = int(staff.id)  # type: ignore[arg-type]


def _fresh(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


MATRIX: dict[tuple[str, str], Probe] = {
    ("GET", "/api/v1/openapi.json"): lambda w, t: ("/api/v1/openapi.json", {}, None),
    ("GET", "/api/v1/calls"): lambda w, t: ("/api/v1/calls", {}, None),
    ("GET", "/api/v1/calls/{call_sid}"): lambda w, t: (f"/api/v1/calls/{w.calls[t]}", {}, None),
    ("POST", "/api/v1/customers"): lambda w, t: (
        "/api/v1/customers",
        {},
        {"kind": "individual", "name": "최신규", "phones": ["010-5555-6666"], "registration_number": "850505-1234567",
         "org_unit_id": w.units["SEOUL-GANGNAM-SEOCHO" if t == "inside" else "BUSAN-DONGBU-HAEUNDAE"]},
    ),  # fmt: skip
    ("GET", "/api/v1/customers/lookup"): lambda w, t: (
        "/api/v1/customers/lookup",
        {"phone": "010-1111-2222" if t == "inside" else "010-3333-4444"},
        None,
    ),
    ("GET", "/api/v1/customers/{customer_id}"): lambda w, t: (f"/api/v1/customers/{_c(w, t)}", {}, None),
    ("POST", "/api/v1/customers/{customer_id}/policies"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}/policies",
        {},
        {"line": "auto", "premium": 1000, "start_date": "2025-01-01", "end_date": "2026-01-01"},
    ),
    ("POST", "/api/v1/customers/{customer_id}/claims"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}/claims",
        {},
        {"policy_id": 1, "occurred_on": "2025-02-01", "paid_amount": 0},
    ),
    ("GET", "/api/v1/customers/{customer_id}/segment-history"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}/segment-history", {}, None),
    ("PUT", "/api/v1/customers/{customer_id}/account-manager"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}/account-manager", {}, {"username": "account_manager.seocho"}),
    ("GET", "/api/v1/customers/{customer_id}/account-manager/history"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}/account-manager/history", {}, None),
    ("GET", "/api/v1/account-managers"): lambda w, t: ("/api/v1/account-managers", {"due": "true"}, None),
    ("GET", "/api/v1/account-managers/{username}"): lambda w, t: (
        f"/api/v1/account-managers/{'account_manager.seocho' if t == 'inside' else 'account_manager.haeundae'}",
        {}, None),
    ("POST", "/api/v1/account-managers/{username}/certifications"): lambda w, t: (
        f"/api/v1/account-managers/{'account_manager.seocho' if t == 'inside' else 'account_manager.haeundae'}"
        "/certifications", {}, {"grade": "junior"}),
    ("GET", "/api/v1/account-managers/{username}/report"): lambda w, t: (
        f"/api/v1/account-managers/{'account_manager.seocho' if t == 'inside' else 'account_manager.haeundae'}"
        "/report", {}, None),
    ("GET", "/api/v1/account-managers/{username}/events"): lambda w, t: (
        f"/api/v1/account-managers/{'account_manager.seocho' if t == 'inside' else 'account_manager.haeundae'}"
        "/events", {}, None),
    ("POST", "/api/v1/blacklist"): lambda w, t: ("/api/v1/blacklist", {}, {"customer_id": _c(w, t), "reason": "x"}),
    ("POST", "/api/v1/blacklist/{entry_id}/approve"): lambda w, t: (
        f"/api/v1/blacklist/{1 if t == 'inside' else 2}/approve", {}, None),
    ("GET", "/api/v1/blacklist"): lambda w, t: ("/api/v1/blacklist", {"customer_id": str(_c(w, t))}, None),
    ("GET", "/api/v1/customer-events"): lambda w, t: ("/api/v1/customer-events", {"customer_id": str(_c(w, t))}, None),
    # A one-letter reason: whoever may revoke gets 422 (the entry stays in force for the other probes).
    ("POST", "/api/v1/blacklist/{entry_id}/revoke"): lambda w, t: (
        f"/api/v1/blacklist/{1 if t == 'inside' else 2}/revoke", {}, {"reason": "x"}),
    ("GET", "/api/v1/org-units"): lambda w, t: ("/api/v1/org-units", {}, None),
    ("GET", "/api/v1/staff"): lambda w, t: ("/api/v1/staff", {}, None),
    ("GET", "/api/v1/audit"): lambda w, t: ("/api/v1/audit", {"customer_id": str(_c(w, t))}, None),
    ("POST", "/api/v1/org-units"): lambda w, t: (
        "/api/v1/org-units", {},
        {"code": _fresh("T-").upper(), "name": "시험지점", "parent_id": _unit(w, t, city=True)}),
    ("PATCH", "/api/v1/org-units/{unit_id}"): lambda w, t: (
        f"/api/v1/org-units/{_unit(w, t)}", {}, {"name": "서초구지점" if t == "inside" else "해운대구지점"}),
    ("POST", "/api/v1/staff"): lambda w, t: (
        "/api/v1/staff", {}, {"username": _fresh("agent.t"), "full_name": "시험", "role": "agent",
                              "org_unit_id": _unit(w, t), "clearance": 1}),
    ("PATCH", "/api/v1/staff/{staff_id}"): lambda w, t: (f"/api/v1/staff/{_member(w, t)}", {}, {"full_name": "홍길동"}),
    ("POST", "/api/v1/staff/{staff_id}/password"): lambda w, t: (
        f"/api/v1/staff/{_reset_member(w, t)}/password", {}, {"password": PASSWORD}),
    ("GET", "/api/v1/review-items"): lambda w, t: ("/api/v1/review-items", {}, None),
    ("POST", "/api/v1/review-items/{item_id}/take"): lambda w, t: (f"/api/v1/review-items/{w.items[t]}/take", {}, None),
    ("GET", "/api/v1/tokens"): lambda w, t: ("/api/v1/tokens", {}, None),
    ("DELETE", "/api/v1/tokens/{token_id}"): lambda w, t: (f"/api/v1/tokens/{w.spare_tokens[t][0]}", {}, None),
    ("GET", "/api/v1/corrections"): lambda w, t: ("/api/v1/corrections", {}, None),
    ("GET", "/console/login"): lambda w, t: ("/console/login", {}, None),
    ("POST", "/console/login"): lambda w, t: ("/console/login", {}, {}),
    ("POST", "/console/logout"): lambda w, t: ("/console/logout", {}, None),
    ("GET", "/console"): lambda w, t: ("/console", {}, None),
    ("GET", "/console/"): lambda w, t: ("/console/", {}, None),
    ("GET", "/console/queue"): lambda w, t: ("/console/queue", {}, None),
    ("GET", "/console/items/{item_id}"): lambda w, t: (f"/console/items/{w.items[t]}", {}, None),
    ("GET", "/console/items/{item_id}/recording"): lambda w, t: (f"/console/items/{w.items[t]}/recording", {}, None),
    ("POST", "/console/items/{item_id}/take"): lambda w, t: (f"/console/items/{w.items[t]}/take", {}, {}),
    ("POST", "/console/items/{item_id}/classification"): lambda w, t: (
        f"/console/items/{w.items[t]}/classification", {}, {"type": "inquiry", "topic": "inquiry.other"}),
    ("POST", "/console/items/{item_id}/changes/{index}"): lambda w, t: (
        f"/console/items/{w.items[t]}/changes/0", {}, {"decision": "apply", "value": "부산시"}),
    ("POST", "/console/items/{item_id}/forward"): lambda w, t: (
        f"/console/items/{w.items[t]}/forward", {}, {"note": "이관"}),
    ("POST", "/console/items/{item_id}/close"): lambda w, t: (f"/console/items/{w.items[t]}/close", {}, {}),
    ("GET", "/console/admin/org-units"): lambda w, t: ("/console/admin/org-units", {}, None),
    ("POST", "/console/admin/org-units"): lambda w, t: (
        "/console/admin/org-units", {},
        {"code": _fresh("T-").upper(), "name": "시험지점", "parent_id": str(_unit(w, t, city=True))}),
    ("POST", "/console/admin/org-units/{unit_id}"): lambda w, t: (
        f"/console/admin/org-units/{_unit(w, t)}", {}, {"name": "서초구지점" if t == "inside" else "해운대구지점"}),
    ("GET", "/console/admin/staff"): lambda w, t: ("/console/admin/staff", {"org_unit_id": str(_unit(w, t))}, None),
    ("POST", "/console/admin/staff"): lambda w, t: (
        "/console/admin/staff", {}, {"username": _fresh("agent.t"), "full_name": "시험", "role": "agent",
                                     "org_unit_id": str(_unit(w, t)), "clearance": "1"}),
    ("GET", "/console/admin/staff/{staff_id}"): lambda w, t: (f"/console/admin/staff/{_member(w, t)}", {}, None),
    ("POST", "/console/admin/staff/{staff_id}"): lambda w, t: (
        f"/console/admin/staff/{_member(w, t)}", {}, {"full_name": "홍길동"}),
    ("POST", "/console/admin/staff/{staff_id}/password"): lambda w, t: (
        f"/console/admin/staff/{_reset_member(w, t)}/password", {}, {"password": PASSWORD}),
    ("GET", "/console/audit"): lambda w, t: ("/console/audit", {"customer_id": str(_c(w, t))}, None),
}  # fmt: skip


# The roles each API route admits at all, as the route table says: any other role never gets a success.
ROLES = {(r.method, PREFIX + r.template): r.roles for r in ROUTES}


def _admin_of(world: World, username: str, unit_id: int, *, strictly_below: bool = False) -> bool:
    """An administrator whose part of the organisation holds the unit (for org units: strictly below their own)."""
    staff = world.staff[username]
    if staff["role"] is not Role.ADMIN or not world.sees_unit(username, unit_id):
        return False
    return not strictly_below or unit_id != staff["unit"]


def _admin_answer(ok: int, outside: int) -> Callable[[World, str, Target, int], int]:
    """Not an administrator: 403; the administrator of the unit: `ok`; any other administrator: `outside`."""

    def answer(world: World, username: str, target: Target, unit_id: int) -> int:
        if world.staff[username]["role"] is not Role.ADMIN:
            return 403
        return ok if _admin_of(world, username, unit_id) else outside

    return answer


def _unit_change(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: ok if _admin_of(w, u, _unit(w, t), strictly_below=True) else 403


def _blacklist_decider(w: World, u: str, t: Target) -> int:
    """Scope first (404), then the role (403); a decider then gets to the reason (422 for one letter)."""
    if not w.sees_unit(u, _unit(w, t)):
        return 404
    return 422 if w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.ADMIN) else 403


def _token_revoker(w: World, u: str, t: Target) -> int:
    """A spare token of a staff member of the target's county branch: revoked by its holder and the administrators
    above them, unknown to the rest."""
    if u == SPARE_TOKEN_HOLDERS[t]:
        return 200
    return 200 if w.staff[u]["role"] is Role.ADMIN and w.sees_unit(u, _unit(w, t)) else 404


def _auditor(w: World, u: str, t: Target) -> int:
    if w.staff[u]["role"] not in (Role.ADMIN, Role.EXECUTIVE):
        return 403
    return 200 if w.sees_unit(u, _unit(w, t)) else 404


# The expected answer of each role at each level, for the target inside and outside their scope.
EXPECTED: dict[tuple[str, str], Callable[[World, str, Target], int]] = {
    ("GET", "/api/v1/audit"): lambda w, u, t: (
        403
        if w.staff[u]["role"] not in (Role.ADMIN, Role.EXECUTIVE, Role.CENTER_MANAGER)
        else 200
        if w.sees_unit(u, _unit(w, t))
        else 404
    ),
    ("POST", "/api/v1/org-units"): lambda w, u, t: _admin_answer(201, 403)(w, u, t, _unit(w, t, city=True)),
    ("PATCH", "/api/v1/org-units/{unit_id}"): _unit_change(200),
    ("POST", "/api/v1/staff"): lambda w, u, t: _admin_answer(201, 403)(w, u, t, _unit(w, t)),
    ("PATCH", "/api/v1/staff/{staff_id}"): lambda w, u, t: _admin_answer(200, 404)(w, u, t, _unit(w, t)),
    ("POST", "/api/v1/staff/{staff_id}/password"): lambda w, u, t: _admin_answer(200, 404)(w, u, t, _unit(w, t)),
    ("GET", "/console/admin/org-units"): lambda w, u, t: 200 if w.staff[u]["role"] is Role.ADMIN else 403,
    ("POST", "/console/admin/org-units"): lambda w, u, t: _admin_answer(303, 403)(w, u, t, _unit(w, t, city=True)),
    ("POST", "/console/admin/org-units/{unit_id}"): _unit_change(303),
    ("GET", "/console/admin/staff"): lambda w, u, t: 200 if w.staff[u]["role"] is Role.ADMIN else 403,
    ("POST", "/console/admin/staff"): lambda w, u, t: _admin_answer(303, 403)(w, u, t, _unit(w, t)),
    ("GET", "/console/admin/staff/{staff_id}"): lambda w, u, t: _admin_answer(200, 404)(w, u, t, _unit(w, t)),
    ("POST", "/console/admin/staff/{staff_id}"): lambda w, u, t: _admin_answer(303, 404)(w, u, t, _unit(w, t)),
    ("POST", "/console/admin/staff/{staff_id}/password"): lambda w, u, t: _admin_answer(303, 404)(
        w, u, t, _unit(w, t)),
    ("GET", "/console/audit"): _auditor,
    ("GET", "/api/v1/blacklist"): lambda w, u, t: (
        200 if w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN) else 403),
    ("POST", "/api/v1/blacklist/{entry_id}/revoke"): _blacklist_decider,
    ("GET", "/api/v1/customer-events"): lambda w, u, t: (
        200 if w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN) else 403),
    ("DELETE", "/api/v1/tokens/{token_id}"): _token_revoker,
}  # fmt: skip
# -- changes after creation and the account managers' duties (PATCH customer and claim, tasks) ----------------------


def _manager_of(t: Target) -> str:
    """The account manager of the target customer's county branch (the world's duty of that customer is theirs)."""
    return "account_manager.seocho" if t == "inside" else "account_manager.haeundae"


def _duties_seen(ok: int) -> Callable[[World, str, Target], int]:
    """A manager's duties: the manager, and center managers, executives, administrators above; others 403."""
    return lambda w, u, t: (
        404 if not w.sees_unit(u, _unit(w, t))
        else ok if u == _manager_of(t) or w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN)
        else 403
    )  # fmt: skip


def _duty_done(ok: int) -> Callable[[World, str, Target], int]:
    """Marking a duty done: its manager, or a center manager who sees the customer; others 403."""
    return lambda w, u, t: (
        ok if u == _manager_of(t)
        else 404 if not w.sees_unit(u, _unit(w, t))
        else ok if w.staff[u]["role"] is Role.CENTER_MANAGER
        else 403
    )  # fmt: skip


def _in_scope(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: ok if w.sees_unit(u, _unit(w, t)) else 404


MATRIX.update({
    # Probes that change nothing: the values the records already hold.
    ("PATCH", "/api/v1/customers/{customer_id}"): lambda w, t: (
        f"/api/v1/customers/{_c(w, t)}", {}, {"late_payments": 0}),
    ("PATCH", "/api/v1/claims/{claim_id}"): lambda w, t: (f"/api/v1/claims/{w.claims[t]}", {}, {"status": "open"}),
    ("GET", "/api/v1/account-managers/{username}/tasks"): lambda w, t: (
        f"/api/v1/account-managers/{_manager_of(t)}/tasks", {"state": "all"}, None),
    ("POST", "/api/v1/service-tasks/{task_id}/done"): lambda w, t: (
        f"/api/v1/service-tasks/{w.tasks[t]}/done", {}, {"outcome": "방문 상담 완료"}),
    ("GET", "/console/tasks"): lambda w, t: ("/console/tasks", {"manager": _manager_of(t), "state": "all"}, None),
    ("POST", "/console/tasks/{task_id}/done"): lambda w, t: (
        f"/console/tasks/{w.tasks[t]}/done", {}, {"outcome": "방문 상담 완료"}),
})  # fmt: skip
EXPECTED.update({
    ("PATCH", "/api/v1/customers/{customer_id}"): _in_scope(200),
    ("PATCH", "/api/v1/claims/{claim_id}"): _in_scope(200),
    ("GET", "/api/v1/account-managers/{username}/tasks"): _duties_seen(200),
    ("POST", "/api/v1/service-tasks/{task_id}/done"): _duty_done(200),
    ("GET", "/console/tasks"): _duties_seen(200),
    ("POST", "/console/tasks/{task_id}/done"): _duty_done(303),
})  # fmt: skip


def _transferrer(w: World, u: str, t: Target) -> int:
    """Moving a customer between branches: scope first (404), then center managers and administrators only."""
    if not w.sees_unit(u, _unit(w, t)):
        return 404
    return 200 if w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.ADMIN) else 403


# The probe "moves" the customer to the branch it is in: nothing changes, the rights are the same.
MATRIX[("POST", "/api/v1/customers/{customer_id}/transfer")] = lambda w, t: (
    f"/api/v1/customers/{_c(w, t)}/transfer", {}, {"org_unit_id": _unit(w, t), "reason": "접근 행렬 시험"})  # fmt: skip
EXPECTED[("POST", "/api/v1/customers/{customer_id}/transfer")] = _transferrer
# -- dispatch: the board (dispatchers, center managers and up) in scope; a surveyor their own profile and assignments.
# The requests are never assigned and both surveyors stay off duty: an assignment is refused (409) in scope, a step
# or an answer finds the request open (409); a surveyor's own assignments are none (404).


def _dispatch(path: str = "") -> Probe:
    return lambda w, t: (f"/api/v1/dispatches/{MATRIX_REQUESTS[t]}{path}", {}, None)


def _board_answer(ok: int, *, surveyor: int = 403) -> Callable[[World, str, Target], int]:
    """The board in scope `ok`, outside it 404; a surveyor `surveyor`; any other role 403."""

    def answer(w: World, u: str, t: Target) -> int:
        role = w.staff[u]["role"]
        if role is Role.SURVEYOR:
            return surveyor
        if role not in BOARD_ROLES:
            return 403
        return ok if w.sees_unit(u, _unit(w, t)) else 404

    return answer


def _surveyor_profile(w: World, u: str, t: Target) -> int:
    if u == MATRIX_SURVEYORS[t]:
        return 200
    return _board_answer(200)(w, u, t)


MATRIX.update({
    ("PUT", "/api/v1/surveyors/{username}"): lambda w, t: (
        f"/api/v1/surveyors/{MATRIX_SURVEYORS[t]}", {}, {"status": "off_duty"}),
    ("POST", "/api/v1/dispatches"): lambda w, t: (
        "/api/v1/dispatches", {}, {"kind": "survey", "location": MATRIX_SCENE, "customer_id": _c(w, t)}),
    ("GET", "/api/v1/dispatches"): lambda w, t: ("/api/v1/dispatches", {"state": "open"}, None),
    ("GET", "/api/v1/dispatches/{request_id}"): _dispatch(),
    ("GET", "/api/v1/dispatches/{request_id}/suggestions"): _dispatch("/suggestions"),
    ("GET", "/api/v1/dispatches/{request_id}/report"): _dispatch("/report"),
    ("POST", "/api/v1/dispatches/{request_id}/assign"): lambda w, t: (
        f"/api/v1/dispatches/{MATRIX_REQUESTS[t]}/assign", {}, {"username": MATRIX_SURVEYORS["inside"]}),
    ("POST", "/api/v1/dispatches/{request_id}/accept"): _dispatch("/accept"),
    ("POST", "/api/v1/dispatches/{request_id}/decline"): _dispatch("/decline"),
    ("POST", "/api/v1/dispatches/{request_id}/steps"): lambda w, t: (
        f"/api/v1/dispatches/{MATRIX_REQUESTS[t]}/steps", {}, {"step": "en_route"}),
    # A one-letter reason: whoever may cancel gets 422 (the requests stay open for the other probes).
    ("POST", "/api/v1/dispatches/{request_id}/cancel"): lambda w, t: (
        f"/api/v1/dispatches/{MATRIX_REQUESTS[t]}/cancel", {}, {"reason": "x"}),
})  # fmt: skip
EXPECTED.update({
    ("PUT", "/api/v1/surveyors/{username}"): _surveyor_profile,
    ("POST", "/api/v1/dispatches"): _board_answer(201),
    ("GET", "/api/v1/dispatches"): lambda w, u, t: 200 if w.staff[u]["role"] in FIELD_ROLES else 403,
    ("GET", "/api/v1/dispatches/{request_id}"): _board_answer(200, surveyor=404),
    ("GET", "/api/v1/dispatches/{request_id}/suggestions"): _board_answer(200),
    ("POST", "/api/v1/dispatches/{request_id}/assign"): _board_answer(409),
    ("POST", "/api/v1/dispatches/{request_id}/accept"): _board_answer(409, surveyor=404),
    ("POST", "/api/v1/dispatches/{request_id}/decline"): _board_answer(409, surveyor=404),
    ("POST", "/api/v1/dispatches/{request_id}/steps"): _board_answer(409, surveyor=404),
    ("POST", "/api/v1/dispatches/{request_id}/cancel"): _board_answer(422),
    ("GET", "/api/v1/dispatches/{request_id}/report"): _board_answer(404, surveyor=404),
})  # fmt: skip


# The dispatch board's and the surveyor's console pages (gateway.console.dispatch, .field): the board's roles in
# scope; a surveyor only their own assignments (none here: 404), every other role 403. The board's socket answers a
# plain GET (no upgrade) 400. A step refused by the store shows the board again with its status.
def _board_page(w: World, u: str, t: Target) -> int:
    return 200 if w.staff[u]["role"] in BOARD_ROLES else 403


def _surveyor_only(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: ok if w.staff[u]["role"] is Role.SURVEYOR else 403


def _console_dispatch(path: str = "", body: Any = None, *, field: bool = False) -> Probe:
    return lambda w, t: (f"/console/{'field' if field else 'dispatch'}/{MATRIX_REQUESTS[t]}{path}", {}, body)


MATRIX.update({
    ("GET", "/console/dispatch"): lambda w, t: ("/console/dispatch", {}, None),
    ("GET", "/console/dispatch/live"): lambda w, t: ("/console/dispatch/live", {}, None),
    ("GET", "/console/dispatch/ws"): lambda w, t: ("/console/dispatch/ws", {}, None),
    ("GET", "/console/dispatch/{request_id}"): _console_dispatch(),
    ("GET", "/console/dispatch/{request_id}/photos/{photo_id}"): _console_dispatch("/photos/1"),
    ("GET", "/console/dispatch/{request_id}/signature"): _console_dispatch("/signature"),
    ("POST", "/console/dispatch/{request_id}/assign"): _console_dispatch(
        "/assign", {"username": MATRIX_SURVEYORS["inside"]}),
    ("POST", "/console/dispatch/{request_id}/confirm"): _console_dispatch("/confirm", {"lat": "", "lon": ""}),
    ("POST", "/console/dispatch/{request_id}/vendor"): _console_dispatch("/vendor", {"step": "accept"}),
    ("GET", "/console/field"): lambda w, t: ("/console/field", {}, None),
    ("GET", "/console/field/{request_id}"): _console_dispatch(field=True),
    ("POST", "/console/field/{request_id}/step"): _console_dispatch("/step", {"step": "accept"}, field=True),
    ("POST", "/console/field/{request_id}/position"): _console_dispatch(
        "/position", {"lat": "37.5", "lon": "127.0"}, field=True),
    ("POST", "/console/field/{request_id}/report"): _console_dispatch("/report", {"damage": "x"}, field=True),
})  # fmt: skip
EXPECTED.update({
    ("GET", "/console/dispatch"): _board_page,
    ("GET", "/console/dispatch/live"): _board_page,
    ("GET", "/console/dispatch/ws"): lambda w, u, t: 400 if w.staff[u]["role"] in BOARD_ROLES else 403,
    ("GET", "/console/dispatch/{request_id}"): _board_answer(200, surveyor=404),
    ("GET", "/console/dispatch/{request_id}/photos/{photo_id}"): _board_answer(404, surveyor=404),
    ("GET", "/console/dispatch/{request_id}/signature"): _board_answer(404, surveyor=404),
    ("POST", "/console/dispatch/{request_id}/assign"): _board_answer(409),
    ("POST", "/console/dispatch/{request_id}/confirm"): _board_answer(422),
    ("POST", "/console/dispatch/{request_id}/vendor"): _board_answer(409),
    ("GET", "/console/field"): _surveyor_only(200),
    ("GET", "/console/field/{request_id}"): _surveyor_only(404),
    ("POST", "/console/field/{request_id}/step"): _surveyor_only(404),
    ("POST", "/console/field/{request_id}/position"): _surveyor_only(404),
    ("POST", "/console/field/{request_id}/report"): _surveyor_only(404),
})  # fmt: skip
# -- end of the changes and duties section -------------------------------------------------------------------------
# Reads every viewer must get for a customer in scope (the matrix must not pass by refusing everything).
# Reads everyone may make of a customer in their scope (a customer's audit trail is for supervisors: EXPECTED).
READABLE = {
    "/api/v1/customers/{customer_id}",
    "/api/v1/customers/lookup",
    "/api/v1/calls/{call_sid}",
    "/console/items/{item_id}",
}
# API routes probed a second time with the console session instead of a bearer token (unsafe ones with the
# session's X-CSRF-Token header): the same answer is expected, and the same checks apply.
SESSION_PROBED = {
    ("GET", "/api/v1/calls/{call_sid}"),
    ("GET", "/api/v1/customers/{customer_id}"),
    ("GET", "/api/v1/customers/lookup"),
    ("GET", "/api/v1/account-managers/{username}/events"),
    ("GET", "/api/v1/corrections"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
}
# -- complaints: one open complaint of each target customer (its unit is the customer's branch) ---------------------
COMPLAINTS: dict[Target, int] = {}


SUBTASKS: dict[Target, int] = {}
ACTIONS: dict[Target, int] = {}


def add_complaints(world: World, engine: Any) -> None:
    for t in ("inside", "outside"):
        COMPLAINTS[t], _number = complaint_helpers.open_for(engine, world, t)
        SUBTASKS[t], ACTIONS[t] = complaint_helpers.add_subtask_and_action(
            engine, COMPLAINTS[t], _unit(world, t), owner=int(world.staff["center_manager.hq"]["id"])
        )


def _keeper(ok: int, outside: int, keepers: frozenset[Role]) -> Callable[[World, str, Target], int]:
    """Who keeps departments or corrective actions: `ok` in scope, `outside` beyond it; the others 403."""
    return lambda w, u, t: 403 if w.staff[u]["role"] not in keepers else ok if w.sees_unit(u, _unit(w, t)) else outside


def _subtask_marker(w: World, u: str, t: Target) -> int:
    """Marking the seeded sub-task undone again (it is undone: 409) in scope; by its owner or a supervisor."""
    if not w.sees_unit(u, _unit(w, t)):
        return 404
    return 409 if w.staff[u]["role"] in SUBTASK_SUPERVISORS else 403


def _action_follower(w: World, u: str, t: Target) -> int:
    """Closing the seeded action before its effect is checked: 409 for its keepers in scope."""
    if not w.sees_unit(u, _unit(w, t)):
        return 404
    return 409 if w.staff[u]["role"] in ACTION_KEEPERS else 403


def _complaint_receiver(w: World, u: str, t: Target) -> int:
    """Opening (a repeat of the open complaint: 200): who receives complaints, for a customer in scope."""
    if w.staff[u]["role"] not in complaint_steps.RECEIVERS:
        return 403
    return 200 if w.sees_unit(u, _unit(w, t)) else 404


MATRIX.update({
    ("POST", "/api/v1/complaints"): lambda w, t: (
        "/api/v1/complaints", {}, complaint_helpers.create(_c(w, t)).model_dump(mode="json", exclude_none=True)),
    ("GET", "/api/v1/complaints"): lambda w, t: ("/api/v1/complaints", {"overdue": "true"}, None),
    ("GET", "/api/v1/complaints/analysis"): lambda w, t: ("/api/v1/complaints/analysis", {"month": "2026-09"}, None),
    ("GET", "/api/v1/complaints/{complaint_id}"): lambda w, t: (f"/api/v1/complaints/{COMPLAINTS[t]}", {}, None),
    # The acknowledgement changes no state: the first receiver in scope gets 200, the later ones 409.
    ("POST", "/api/v1/complaints/{complaint_id}/steps"): lambda w, t: (
        f"/api/v1/complaints/{COMPLAINTS[t]}/steps", {},
        {"action": "acknowledgement", "form": {"handler_name": "김상담", "handler_phone": "1588-1234"}}),
    ("GET", "/api/v1/complaints/analysis/reports"): lambda w, t: (
        "/api/v1/complaints/analysis/reports", {"month": "2026-09", "org_unit_id": str(_unit(w, t))}, None),
    ("POST", "/api/v1/complaints/analysis/reports"): lambda w, t: (
        "/api/v1/complaints/analysis/reports", {}, {"month": "2026-09", "org_unit_id": _unit(w, t)}),
    ("GET", "/api/v1/complaints/corrective-actions"): lambda w, t: (
        "/api/v1/complaints/corrective-actions", {"open": "true"}, None),
    ("POST", "/api/v1/complaints/corrective-actions"): lambda w, t: (
        "/api/v1/complaints/corrective-actions", {},
        {"month": "2026-09", "org_unit_id": _unit(w, t), "finding": "보상 지연 민원 증가", "what": "보상 인력 보강",
         "owner": "center_manager.hq", "due_date": "2026-11-30"}),
    ("POST", "/api/v1/complaints/corrective-actions/{action_id}"): lambda w, t: (
        f"/api/v1/complaints/corrective-actions/{ACTIONS[t]}", {}, {"event": "closed", "note": "종결"}),
    ("GET", "/api/v1/complaint-departments"): lambda w, t: (
        "/api/v1/complaint-departments", {"org_unit_id": str(_unit(w, t))}, None),
    ("POST", "/api/v1/complaint-departments"): lambda w, t: (
        "/api/v1/complaint-departments", {}, {"org_unit_id": _unit(w, t), "code": _fresh("dept_x"), "name": "보상부"}),
    ("POST", "/api/v1/complaints/{complaint_id}/subtasks/{subtask_id}"): lambda w, t: (
        f"/api/v1/complaints/{COMPLAINTS[t]}/subtasks/{SUBTASKS[t]}", {}, {"done": False}),
    ("GET", "/console/complaint-numbers"): lambda w, t: ("/console/complaint-numbers", {}, None),
    ("GET", "/console/complaints/analysis"): lambda w, t: ("/console/complaints/analysis", {"month": "2026-09"}, None),
    ("POST", "/console/complaints/analysis/actions"): lambda w, t: (
        "/console/complaints/analysis/actions", {},
        {"month": "2026-09", "finding": "보상 지연", "what": "인력 보강", "owner": "nobody", "due_date": "2026-11-30"}),
    ("POST", "/console/complaints/analysis/actions/{action_id}"): lambda w, t: (
        f"/console/complaints/analysis/actions/{ACTIONS[t]}", {},
        {"event": "closed", "note": "종결", "month": "2026-09"}),
    ("POST", "/console/complaints/{complaint_id}/subtasks/{subtask_id}"): lambda w, t: (
        f"/console/complaints/{COMPLAINTS[t]}/subtasks/{SUBTASKS[t]}", {}, {"done": "false"}),
    ("GET", "/console/complaints"): lambda w, t: ("/console/complaints", {"overdue": "true"}, None),
    ("GET", "/console/complaints/{complaint_id}"): lambda w, t: (f"/console/complaints/{COMPLAINTS[t]}", {}, None),
    ("POST", "/console/complaints/{complaint_id}/steps"): lambda w, t: (
        f"/console/complaints/{COMPLAINTS[t]}/steps", {},
        {"action": "acknowledgement", "handler_name": "김상담", "handler_phone": "1588-1234"}),
})  # fmt: skip
EXPECTED.update(
    {
        ("POST", "/api/v1/complaints"): _complaint_receiver,
        ("GET", "/api/v1/complaints/{complaint_id}"): _in_scope(200),
        ("GET", "/console/complaints/{complaint_id}"): _in_scope(200),
        ("GET", "/api/v1/complaint-departments"): _in_scope(200),
        ("POST", "/api/v1/complaint-departments"): _keeper(201, 422, DEPARTMENT_KEEPERS),
        ("POST", "/api/v1/complaints/corrective-actions"): _keeper(201, 422, ACTION_KEEPERS),
        ("POST", "/api/v1/complaints/analysis/reports"): _keeper(202, 404, ACTION_KEEPERS),
        ("POST", "/api/v1/complaints/corrective-actions/{action_id}"): _action_follower,
        ("POST", "/api/v1/complaints/{complaint_id}/subtasks/{subtask_id}"): _subtask_marker,
    }
)
READABLE.update({"/api/v1/complaints/{complaint_id}", "/console/complaints/{complaint_id}"})
SESSION_PROBED.add(("GET", "/api/v1/complaints/{complaint_id}"))
# -- end of the complaints section ---------------------------------------------------------------------------------
# -- reports: the monthly report of the target's county branch (a supervisor's, within their part) -----------------
MATRIX[("GET", "/api/v1/reports/monthly")] = lambda w, t: (
    "/api/v1/reports/monthly", {"month": "2026-09", "unit": str(_unit(w, t))}, None)  # fmt: skip
EXPECTED[("GET", "/api/v1/reports/monthly")] = lambda w, u, t: (
    403 if w.staff[u]["role"] not in SUPERVISORS else 200 if w.sees_unit(u, _unit(w, t)) else 404)  # fmt: skip
# Stored reports of September 2026 for every unit (generated as the workers do); the target's county branch's.
REPORTS: dict[Target, int] = {}


def add_reports(world: World, engine: Any) -> None:
    with session_scope(engine) as session:
        generate_reports(session, date(2026, 9, 1), now=datetime(2026, 12, 7, 1, tzinfo=BUSINESS_TZ), by="workers")
    with session_scope(engine) as session:
        for t in ("inside", "outside"):
            row = session.exec(select(StoredReport).where(StoredReport.org_unit_id == _unit(world, t))).one()
            REPORTS[t] = int(row.id)  # type: ignore[arg-type]


def _report_reader(ok: int) -> Callable[[World, str, Target], int]:
    return lambda w, u, t: 403 if w.staff[u]["role"] not in SUPERVISORS else ok if w.sees_unit(u, _unit(w, t)) else 404


MATRIX.update({
    ("GET", "/console/reports"): lambda w, t: ("/console/reports", {"month": "2026-09"}, None),
    ("POST", "/console/reports/generate"): lambda w, t: (
        "/console/reports/generate", {}, {"month": "2026-09", "unit": str(_unit(w, t))}),
    ("GET", "/console/reports/{report_id}"): lambda w, t: (f"/console/reports/{REPORTS[t]}", {}, None),
    ("GET", "/console/reports/{report_id}/{format}"): lambda w, t: (f"/console/reports/{REPORTS[t]}/xlsx", {}, None),
    ("GET", "/console/reports/customers"): lambda w, t: (
        "/console/reports/customers", {"list": "alerts", "unit": str(_unit(w, t))}, None),
    ("GET", "/console/reports/customers/{format}"): lambda w, t: (
        "/console/reports/customers/csv", {"list": "quality", "unit": str(_unit(w, t))}, None),
})  # fmt: skip
EXPECTED.update({
    ("GET", "/console/reports"): lambda w, u, t: 403 if w.staff[u]["role"] not in SUPERVISORS else 200,
    ("POST", "/console/reports/generate"): _report_reader(303),
    ("GET", "/console/reports/{report_id}"): _report_reader(200),
    ("GET", "/console/reports/{report_id}/{format}"): _report_reader(200),
    ("GET", "/console/reports/customers"): _report_reader(200),
    ("GET", "/console/reports/customers/{format}"): _report_reader(200),
})  # fmt: skip
# -- end of the reports section ------------------------------------------------------------------------------------
