"""The access matrix: every role at every level against every /api/v1/ endpoint and console page, for a customer
inside and one outside the viewer's scope. Nothing outside scope is returned, masked fields stay masked, and a
route added to the application without a line in MATRIX fails this test.

Graded information is seeded where a leak would show (tests.review_helpers.add_graded_records): blacklist reasons
(grade 3) in the customers and in their account managers' events, health details (grade 4) in the customers'
profiles, the calls' entities and the operators' corrections. JSON answers are searched decoded (aiohttp escapes
non-ASCII text). Every viewer is probed, the head-office administrator last (their probes change the most), with
a bearer token, and a few API routes again with the console session (and its CSRF header)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from crm_store.complaints import steps as complaint_steps
from crm_store.complaints.store import open_complaint
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from crm_store.org.tables import ApiToken, Role, Staff
from crm_store.types import utcnow
from gateway.app import create_app
from gateway.routes import PREFIX, ROUTES
from tests import complaint_helpers
from tests.review_helpers import (
    BLACKLIST_REASON,
    HEALTH_DETAILS,
    INSIDE_NAME,
    INSIDE_RRN,
    OUTSIDE_NAME,
    OUTSIDE_RRN,
    PASSWORD,
    SPARE_TOKEN_HOLDERS,
    World,
    add_customers_and_calls,
    add_graded_records,
    build_world,
)
from workers.settings import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
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


def _add_reset_targets(world: World, engine: Any) -> None:
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


def _add_complaints(world: World, engine: Any) -> None:
    with session_scope(engine) as session:
        for t in ("inside", "outside"):
            opened = open_complaint(session, CommandLine(username="root"), complaint_helpers.create(_c(world, t)),
                                    now=utcnow())  # fmt: skip
            COMPLAINTS[t] = int(opened.complaint.id)  # type: ignore[arg-type]


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
})  # fmt: skip
EXPECTED.update(
    {
        ("POST", "/api/v1/complaints"): _complaint_receiver,
        ("GET", "/api/v1/complaints/{complaint_id}"): _in_scope(200),
    }
)
READABLE.add("/api/v1/complaints/{complaint_id}")
SESSION_PROBED.add(("GET", "/api/v1/complaints/{complaint_id}"))
# -- end of the complaints section ---------------------------------------------------------------------------------
# Routes outside the matrix's subject (Twilio webhooks check signatures; health, metrics and the console's
# stylesheet hold no customer data).
NOT_CUSTOMER_DATA = ("/twilio/", "/healthz", "/metrics", "/static")
SECRETS_OF = {
    "inside": (INSIDE_NAME, INSIDE_RRN[:8]),
    "outside": (OUTSIDE_NAME, OUTSIDE_RRN[:8]),
}


def _routes(app: Any) -> set[tuple[str, str]]:
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None and not r.resource.canonical.startswith(NOT_CUSTOMER_DATA)
    }


def test_every_route_is_in_the_matrix(settings: Settings) -> None:
    routes = _routes(create_app(settings, embedded_worker=False))
    missing = routes - set(MATRIX)
    assert not missing, f"routes without a line in the access matrix: {sorted(missing)}"
    assert not set(MATRIX) - routes, "matrix lines for routes that no longer exist"
    assert set(EXPECTED) <= set(MATRIX)
    administration = {r for r in routes if "/admin/" in r[1] or r[1] in ("/console/audit", "/api/v1/audit")}
    administration |= {r for r in routes if r[0] != "GET" and r[1].startswith(("/api/v1/org-units", "/api/v1/staff"))}
    assert administration <= set(EXPECTED), f"administration routes without expected answers: {administration}"


def _decoded(answer: Any, text: str) -> str:
    """The answer's text, a JSON body re-dumped with its non-ASCII text as it reads (Korean, not \\u escapes)."""
    if answer.content_type != "application/json" or not text:
        return text
    return json.dumps(json.loads(text), ensure_ascii=False)


def _leaks(world: World, username: str, body: str) -> list[str]:
    """What this answer shows that the viewer may not see."""
    problems = []
    staff = world.staff[username]
    for key, (name, rrn_prefix) in SECRETS_OF.items():
        unit = world.units["SEOUL-GANGNAM-SEOCHO" if key == "inside" else "BUSAN-DONGBU-HAEUNDAE"]
        health = HEALTH_DETAILS[key]
        if not world.sees_unit(username, unit):
            if name in body or world.calls[key] in body or rrn_prefix in body or health in body:
                problems.append(f"{key} customer outside scope shown")
            continue
        if staff["clearance"] < 3 and (rrn_prefix in body or BLACKLIST_REASON in body):
            problems.append(f"grade-3 field of the {key} customer shown at clearance {staff['clearance']}")
        if staff["clearance"] < 4 and health in body:
            problems.append(f"grade-4 field of the {key} customer shown at clearance {staff['clearance']}")
    return problems


def _foreign_tokens(world: World, username: str, body: str) -> list[str]:
    """Tokens listed that belong to staff outside the viewer's reach (their own, or their subtree's for admins)."""
    unit_of = {w["id"]: w["unit"] for w in world.staff.values()}
    staff = world.staff[username]
    foreign = []
    for token in json.loads(body)["items"]:
        holder = token["staff_id"]
        if holder != staff["id"] and not (staff["role"] is Role.ADMIN and world.sees_unit(username, unit_of[holder])):
            foreign.append(f"token {token['id']} of staff {holder} listed")
    return foreign


async def _token_works(client: Any, token: str) -> bool:
    answer = await client.get("/api/v1/org-units", headers={"Authorization": f"Bearer {token}"})
    return answer.status == 200


async def _console_login(client: Any, username: str) -> str:
    form = await (await client.get("/console/login")).text()
    token = CSRF.search(form)[1]  # type: ignore[index]
    answer = await client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status == 200, await answer.text()
    return CSRF.search(await answer.text())[1]  # type: ignore[index]


async def _probe(
    client: Any, world: World, username: str, csrf: str, method: str, canonical: str, target: Target, *, session: bool
) -> tuple[int, list[str]]:
    """One request, by bearer token (the API), console form (the console) or session cookie (`session`); its
    status and what is wrong with the answer."""
    path, query, body = MATRIX[(method, canonical)](world, target)
    kwargs: dict[str, Any] = {"params": query, "allow_redirects": False}
    headers: dict[str, str] = {}
    if path.startswith("/console"):
        if method != "GET":
            kwargs["data"] = {**(body or {}), "csrf_token": csrf}
    else:
        if session:
            headers = {"X-CSRF-Token": csrf} if method != "GET" else {}
        else:
            headers = world.auth(username)
        if body is not None:
            kwargs["json"] = body
    spare_worked = canonical == "/api/v1/tokens/{token_id}" and await _token_works(
        client, world.spare_tokens[target][1]
    )
    answer = await client.request(method, path, headers=headers, **kwargs)
    text = _decoded(answer, await answer.text(errors="replace"))
    if answer.status == 404:
        text = text.replace(world.calls[target], "")  # "no call CA...": the asker's own words
    problems = _leaks(world, username, text)
    outside = not world.sees_unit(username, world.units["BUSAN-DONGBU-HAEUNDAE"])
    if target == "outside" and outside and method != "GET" and answer.status < 400:
        problems.append(f"unsafe {method} on an out-of-scope target answered {answer.status}")
    visible = world.sees_unit(username, world.units["SEOUL-GANGNAM-SEOCHO"])
    if method == "GET" and target == "inside" and visible and canonical in READABLE and answer.status != 200:
        problems.append(f"in-scope read refused with {answer.status}")
    if answer.status >= 500:
        problems.append(f"server error {answer.status}")
    allowed = ROLES.get((method, canonical))
    if allowed is not None and world.staff[username]["role"] not in allowed and answer.status < 400:
        problems.append(f"answered {answer.status} to a role the route table does not admit")
    expected = EXPECTED.get((method, canonical))
    if expected is not None and answer.status != expected(world, username, target):
        problems.append(f"answered {answer.status}, expected {expected(world, username, target)}")
    if canonical == "/api/v1/tokens" and answer.status == 200:
        problems += _foreign_tokens(world, username, text)
    if spare_worked and answer.status == 404:
        if not await _token_works(client, world.spare_tokens[target][1]):
            problems.append("a token answered 404 was revoked all the same")
    how = "session" if session else "token"
    return answer.status, [f"{username} {method} {path} [{target}, {how}]: {p}" for p in problems]


async def test_access_matrix(aiohttp_client: Any, settings: Settings, engine: Any) -> None:
    world = build_world(engine)
    _add_reset_targets(world, engine)
    app = create_app(settings, embedded_worker=False)
    client = await aiohttp_client(app)
    await add_customers_and_calls(client, world, engine)
    await add_graded_records(client, world, engine)
    _add_complaints(world, engine)
    routes = sorted(_routes(app))
    assert SESSION_PROBED <= set(routes)
    failures: list[str] = []
    # Read-only first for every viewer, then the unsafe methods (which may change what later reads see).
    ordered = [r for r in routes if r[0] == "GET"] + [r for r in routes if r[0] != "GET"]
    # The head-office administrator seeded the data and may change anything: probed last.
    viewers = [u for u in world.staff if u != "admin.hq"] + ["admin.hq"]
    revokers_seen = False
    for username in viewers:
        csrf = await _console_login(client, username)
        for method, canonical in ordered:
            if canonical in ("/console/logout", "/console/login"):
                continue
            for target in ("outside", "inside"):
                status, problems = await _probe(client, world, username, csrf, method, canonical, target, session=False)
                failures += problems
                if (method, canonical) in SESSION_PROBED:
                    again, problems = await _probe(
                        client, world, username, csrf, method, canonical, target, session=True
                    )
                    failures += problems
                    if again != status:
                        failures.append(f"{username} {method} {canonical} [{target}]: {again} by session, "
                                        f"{status} by token")  # fmt: skip
        client.session.cookie_jar.clear()
        # Only its holder and head office may revoke the Busan staff member's token; nobody else did.
        revokers_seen = revokers_seen or username in ("admin.hq", SPARE_TOKEN_HOLDERS["outside"])
        if not revokers_seen and not await _token_works(client, world.spare_tokens["outside"][1]):
            failures.append(f"{username}: the Busan staff member's token no longer works")
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:60])
    with session_scope(engine) as session:
        spare = {world.spare_tokens[t][0]: t for t in ("inside", "outside")}
        revoked = {spare[t.id] for t in session.exec(select(ApiToken)).all() if t.id in spare and t.revoked_at}
    assert revoked == {"inside", "outside"}  # the administrators above them did revoke them
