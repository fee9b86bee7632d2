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
from typing import Any

from sqlmodel import select

from crm_store.db import session_scope
from crm_store.org.tables import ApiToken, Role
from gateway.app import create_app
from tests import (
    access_matrix_desk,  # adds the live desk's routes to MATRIX and EXPECTED
    access_matrix_dispatch,  # noqa: F401  (adds the board's change read and the vendors' routes)
)
from tests.access_matrix import (
    EXPECTED,
    MATRIX,
    READABLE,
    ROLES,
    SESSION_PROBED,
    Target,
    add_complaints,
    add_reports,
    add_reset_targets,
)
from tests.access_matrix_exports import add_complaint_reports
from tests.access_matrix_reports import add_report_notices
from tests.dispatch_api_helpers import add_dispatch_records
from tests.review_helpers import (
    BLACKLIST_REASON,
    HEALTH_DETAILS,
    INSIDE_NAME,
    INSIDE_RRN,
    OUTSIDE_NAME,
    OUTSIDE_RRN,
    SPARE_TOKEN_HOLDERS,
    World,
    add_customers_and_calls,
    add_graded_records,
    build_world,
    console_login,
)
from workers.settings import Settings

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
    add_reset_targets(world, engine)
    app = create_app(settings, embedded_worker=False)
    client = await aiohttp_client(app)
    await add_customers_and_calls(client, world, engine)
    await add_graded_records(client, world, engine)
    await add_dispatch_records(client, world, engine)
    add_complaints(world, engine)
    add_complaint_reports(world, engine)
    add_reports(world, engine)
    add_report_notices(world, engine)
    access_matrix_desk.add_callback_tasks(world, engine)
    routes = sorted(_routes(app))
    assert SESSION_PROBED <= set(routes)
    failures: list[str] = []
    # Read-only first for every viewer, then the unsafe methods (which may change what later reads see).
    ordered = [r for r in routes if r[0] == "GET"] + [r for r in routes if r[0] != "GET"]
    # The head-office administrator seeded the data and may change anything: probed last.
    viewers = [u for u in world.staff if u != "admin.hq"] + ["admin.hq"]
    revokers_seen = False
    for username in viewers:
        csrf = await console_login(client, username)
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
