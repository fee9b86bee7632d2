"""The live desk's lines of the access matrix (tests/access_matrix.py): customer search, the agent's state and
socket, the forms of a live call, the desk page, the wallboard and the agents' desk profiles. Importing this module
adds them to MATRIX and EXPECTED."""

import secrets
from collections.abc import Callable
from typing import Any

from crm_store.db import session_scope
from crm_store.desk.tables import CallbackTask, DeskQueue
from crm_store.org.tables import Role
from tests.access_matrix import EXPECTED, MATRIX, Target, _c, _member, _unit
from tests.review_helpers import INSIDE_NAME, OUTSIDE_NAME, World

# The live desk. Customer search looks for the target customer by name (found only in scope). The agent's state has
# no target: the "outside" probe asks for a state the desk sets (422 for everyone), the "inside" one goes offline.
MATRIX[("GET", "/api/v1/customers/search")] = lambda w, t: (
    "/api/v1/customers/search", {"q": INSIDE_NAME if t == "inside" else OUTSIDE_NAME}, None)  # fmt: skip
MATRIX[("PUT", "/api/v1/agents/me/state")] = lambda w, t: (
    "/api/v1/agents/me/state", {}, {"state": "offline" if t == "inside" else "on_call"})  # fmt: skip
EXPECTED[("PUT", "/api/v1/agents/me/state")] = lambda w, u, t: (
    422 if t == "outside" else 200 if w.staff[u]["role"] in (Role.AGENT, Role.CENTER_MANAGER) else 403)  # fmt: skip
# The desk's socket: a plain GET is no upgrade (400) for those with a desk.
MATRIX[("GET", "/api/v1/desk/ws")] = lambda w, t: ("/api/v1/desk/ws", {}, None)
EXPECTED[("GET", "/api/v1/desk/ws")] = lambda w, u, t: (
    400 if w.staff[u]["role"] in (Role.AGENT, Role.CENTER_MANAGER) else 403)  # fmt: skip
# The live call's forms: nobody holds the world's calls, so an agent who sees one is refused (403), a desk supervisor
# who sees it gets to the empty form (422), the others never see it (404); other roles 403.
DESK_FORMS = ("customer", "accident-report", "complaint", "change", "inquiry", "notes", "transfer", "wrap-up")


def _desk_form_answer(w: World, u: str, t: Target) -> int:
    role = w.staff[u]["role"]
    if role not in (Role.AGENT, Role.CENTER_MANAGER, Role.ADMIN):
        return 403
    if not w.sees_unit(u, _unit(w, t)):
        return 404
    return 403 if role is Role.AGENT else 422


for _form in DESK_FORMS:
    MATRIX[("POST", "/api/v1/desk/calls/{call_sid}/" + _form)] = (
        lambda form: lambda w, t: (f"/api/v1/desk/calls/{w.calls[t]}/{form}", {}, {}))(_form)  # fmt: skip
    EXPECTED[("POST", "/api/v1/desk/calls/{call_sid}/" + _form)] = _desk_form_answer
# The screen pop's open cases of the target customer: everyone, in scope.
MATRIX[("GET", "/api/v1/customers/{customer_id}/open-cases")] = lambda w, t: (
    f"/api/v1/customers/{_c(w, t)}/open-cases", {}, None)  # fmt: skip
EXPECTED[("GET", "/api/v1/customers/{customer_id}/open-cases")] = lambda w, u, t: (
    200 if w.sees_unit(u, _unit(w, t)) else 404)  # fmt: skip
# The desk's page: agents and center managers.
MATRIX[("GET", "/console/desk")] = lambda w, t: ("/console/desk", {}, None)
EXPECTED[("GET", "/console/desk")] = lambda w, u, t: (
    200 if w.staff[u]["role"] in (Role.AGENT, Role.CENTER_MANAGER) else 403)  # fmt: skip
# The wallboard (center managers, executives, administrators: their part's board). Its socket: a plain GET is no
# upgrade (400) for them.
_WATCHERS = (Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN)
MATRIX[("GET", "/api/v1/desk/wallboard")] = lambda w, t: ("/api/v1/desk/wallboard", {}, None)
EXPECTED[("GET", "/api/v1/desk/wallboard")] = lambda w, u, t: 200 if w.staff[u]["role"] in _WATCHERS else 403
MATRIX[("GET", "/console/wallboard")] = lambda w, t: ("/console/wallboard", {}, None)
EXPECTED[("GET", "/console/wallboard")] = lambda w, u, t: 200 if w.staff[u]["role"] in _WATCHERS else 403
MATRIX[("GET", "/console/wallboard/ws")] = lambda w, t: ("/console/wallboard/ws", {}, None)
EXPECTED[("GET", "/console/wallboard/ws")] = lambda w, u, t: 400 if w.staff[u]["role"] in _WATCHERS else 403


# Desk profiles: the agent of the inside branch (given the profile it has: no skills, no endpoint), the operator of
# the outside one (no desk: 422 by the API, the page again with its error, 400, in the console). Center managers and
# administrators through the API, administrators in the console; out of scope 404.
def _desk_profile(ok: int, no_desk: int, keepers: tuple[Role, ...]) -> Callable[[World, str, Target], int]:
    def answer(w: World, u: str, t: Target) -> int:
        if w.staff[u]["role"] not in keepers:
            return 403
        if not w.sees_unit(u, _unit(w, t)):
            return 404
        return ok if t == "inside" else no_desk

    return answer


MATRIX[("PUT", "/api/v1/agents/{username}")] = lambda w, t: (
    f"/api/v1/agents/{'agent.seocho' if t == 'inside' else 'operator.haeundae'}", {}, {"skills": []})  # fmt: skip
EXPECTED[("PUT", "/api/v1/agents/{username}")] = _desk_profile(200, 422, (Role.CENTER_MANAGER, Role.ADMIN))
MATRIX[("POST", "/console/admin/staff/{staff_id}/desk")] = lambda w, t: (
    f"/console/admin/staff/{_member(w, t)}/desk", {}, {})  # fmt: skip
EXPECTED[("POST", "/console/admin/staff/{staff_id}/desk")] = _desk_profile(303, 400, (Role.ADMIN,))
# The desk roster page of center managers and administrators, and its forms (as the API's route answers, in pages).
MATRIX[("GET", "/console/agents")] = lambda w, t: ("/console/agents", {}, None)
EXPECTED[("GET", "/console/agents")] = lambda w, u, t: (
    200 if w.staff[u]["role"] in (Role.CENTER_MANAGER, Role.ADMIN) else 403)  # fmt: skip
MATRIX[("POST", "/console/agents/{staff_id}")] = lambda w, t: (f"/console/agents/{_member(w, t)}", {}, {})
EXPECTED[("POST", "/console/agents/{staff_id}")] = _desk_profile(303, 400, (Role.CENTER_MANAGER, Role.ADMIN))


# Call-back tasks: the inside customer's in a queue nobody needs a skill for (every desk worker's), the outside
# customer's in a queue of a skill no agent has (only the head office's supervisors see it). Their calls are not
# the world's (a queue is company-wide: its calls are no secret of a branch), the customers' names are.
CALLBACK_TASKS: dict[str, int] = {}
_CALLBACK_WORKERS = (Role.AGENT, Role.CENTER_MANAGER, Role.ADMIN)


def add_callback_tasks(world: World, engine: Any) -> None:
    """One open call-back task per target customer (CALLBACK_TASKS)."""
    with session_scope(engine) as session:
        for target, skills in (("inside", []), ("outside", ["matrix_nobody"])):
            queue = DeskQueue(name=f"matrix_{target}", label=f"점검 {target}", hours="24h", skills=skills)
            session.add(queue)
            session.flush()
            task = CallbackTask(
                call_sid="CA" + secrets.token_hex(16),
                queue_id=queue.id,
                reason="abandoned",
                caller="+821055550000",
                customer_id=world.customers[target],
                wait_seconds=30,
            )
            session.add(task)
            session.flush()
            CALLBACK_TASKS[target] = int(task.id)  # type: ignore[arg-type]


def _callback_answer(w: World, u: str, t: Target) -> int:
    role = w.staff[u]["role"]
    if role not in _CALLBACK_WORKERS:
        return 403
    head_office = w.staff[u]["unit"] == w.units["HQ"]
    return 422 if t == "inside" or (head_office and role is not Role.AGENT) else 404


MATRIX[("GET", "/api/v1/desk/callbacks")] = lambda w, t: (
    "/api/v1/desk/callbacks", {} if t == "inside" else {"state": "done"}, None)  # fmt: skip
EXPECTED[("GET", "/api/v1/desk/callbacks")] = lambda w, u, t: 200 if w.staff[u]["role"] in _CALLBACK_WORKERS else 403
# An empty body: 422 for whoever sees the task (nothing is closed), 404 for the others.
MATRIX[("POST", "/api/v1/desk/callbacks/{callback_id}/done")] = lambda w, t: (
    f"/api/v1/desk/callbacks/{CALLBACK_TASKS[t]}/done", {}, {})  # fmt: skip
EXPECTED[("POST", "/api/v1/desk/callbacks/{callback_id}/done")] = _callback_answer
