"""Console pages of complaints: the queue of the viewer's part of the organisation (filters, search by number, pages,
the resolve limit counted in business days), one complaint with its dossier, and the forms of the steps the viewer
may take next (POST, CSRF-checked). A refused step shows the same page with why, the inputs kept. The store decides
who sees and does what (`crm_store.complaints`); reading a complaint is audited like the API's read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ValidationError

from crm_store.audit import record_read
from crm_store.complaints import store
from crm_store.complaints.deadlines import business_days_left, load_limits
from crm_store.complaints.reading import complaint_names, queue_page, sees_complaint
from crm_store.complaints.steps import IllegalTransition, Step, UnknownStep, step_named, steps_open_to
from crm_store.complaints.wire import Category, ComplaintDetail, ComplaintPublic, State
from crm_store.db import async_session_scope, run_async
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import Viewer
from crm_store.types import utcnow
from crm_store.validation import InvalidInput, NotAllowed
from gateway import labels
from gateway.complaints_api import COMPLAINT_FIELDS, complaint_detail
from gateway.console.render import PageError, kst, page_error, render
from gateway.inputs import int_param, path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.middlewares import Problem, store_problem

PAGE_SIZE = 50
REFUSED = (InvalidInput, NotAllowed, ValidationError)
CHOICES = re.compile(r"^\^\(([a-z_|]+)\)\$$")
# The Korean names of a form field's coded values, by the field's name.
VALUE_LABELS: Mapping[str, Mapping[Any, str]] = {
    "category": labels.COMPLAINT_CATEGORIES,
    "severity": labels.COMPLAINT_SEVERITY,
    "channel": labels.COMPLAINT_CHANNELS,
    "via": labels.COMPLAINT_MEANS,
    "method": labels.COMPLAINT_MEANS,
    "notice_via": labels.COMPLAINT_MEANS,
    "missed": labels.COMPLAINT_LIMITS,
    "department": labels.COMPLAINT_DEPARTMENTS,
}
YES_NO = {"true": labels.YES_NO[True], "false": labels.YES_NO[False]}


@dataclass(frozen=True)
class FormField:
    """One input of a step's form as the page draws it: `kind` is text, textarea, number, choice or lines."""

    name: str
    label: str
    kind: str
    required: bool
    value: str
    choices: Mapping[str, str]


def _customer_name(viewer: Viewer, name: str | None) -> str:
    """The customer's name as the viewer may see it (masked above their clearance, as on every other page)."""
    return str(mask_fields(viewer, "customer", {"name": name or ""})["name"])


def _days_left(complaint: ComplaintPublic, now: datetime) -> int:
    return business_days_left(datetime.fromisoformat(complaint.resolve_by), now=now)


def _queue_row(viewer: Viewer, complaint: ComplaintPublic, names: Any, now: datetime) -> dict[str, Any]:
    days = _days_left(complaint, now)
    soon = 0 <= days <= load_limits().remind_business_days_before and complaint.state != State.CLOSED
    return {
        "complaint": complaint,
        "customer": _customer_name(viewer, names.customers.get(complaint.customer_id)),
        "unit": names.units.get(complaint.org_unit_id, ""),
        "days_left": days,
        "overdue": complaint.overdue,
        "soon": soon and not complaint.overdue,
    }


async def complaint_queue(request: web.Request) -> web.Response:
    """GET /console/complaints?state=&overdue=&category=&number=&after=: the viewer's complaints, soonest resolve
    limit first, a page at a time; an unknown filter shows the page with why."""
    viewer, now = request_viewer(request), utcnow()
    filters = {name: request.query.get(name) or "" for name in ("state", "overdue", "category", "number")}
    filters["number"] = filters["number"].strip()[:32]
    error = None
    if (
        filters["state"] not in ("", *labels.COMPLAINT_STATES)
        or filters["overdue"] not in ("", *labels.COMPLAINT_OVERDUE)
        or filters["category"] not in ("", *labels.COMPLAINT_CATEGORIES)
    ):
        error = PageError(400, labels.error_text(400), (labels.UNKNOWN_FILTER,))
        filters = dict.fromkeys(filters, "")
    after = int_param(request, "after")
    async with request.config_dict[SESSIONS]() as session:
        page = await run_async(
            session, queue_page, viewer, now=now, limit=PAGE_SIZE, after_id=after,
            state=State(filters["state"]) if filters["state"] else None, overdue=filters["overdue"] == "true",
            category=Category(filters["category"]) if filters["category"] else None, number=filters["number"] or None,
        )  # fmt: skip
        names = await run_async(session, complaint_names, page.complaints)
    shown = {name: value for name, value in filters.items() if value}
    context = {
        **filters,
        "rows": [_queue_row(viewer, c, names, now) for c in page.complaints],
        "next": f"?{urlencode({**shown, 'after': page.complaints[-1].id})}" if page.more else None,
        "first": f"?{urlencode(shown)}" if after else None,
    }
    return render(request, "complaints.html", context, error=error)


# -- one complaint --------------------------------------------------------------------------------------------------


def _schema_of(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A property's own schema: an optional one without its null, a reference resolved."""
    for option in prop.get("anyOf", ()):
        if option.get("type") != "null":
            prop = {**option, **{k: v for k, v in prop.items() if k != "anyOf"}}
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **prop}
    return prop


def _field(name: str, prop: Mapping[str, Any], required: bool, value: str) -> FormField:
    kind, choices = "text", {}
    catalogue = VALUE_LABELS.get(name, {})
    pattern = CHOICES.match(str(prop.get("pattern", "")))
    if name == "topic":
        kind, choices = "choice", {code: labels.topic_label(code) for code in load_limits().topics}
    elif "enum" in prop or pattern:
        values = prop["enum"] if "enum" in prop else pattern[1].split("|")  # type: ignore[index]
        kind, choices = "choice", {str(v): labels.label(catalogue, v) for v in values}
    elif prop.get("type") == "boolean":
        kind, choices = "choice", YES_NO
    elif prop.get("type") == "integer":
        kind = "number"
    elif prop.get("type") == "array":
        kind = "lines"
    elif int(prop.get("maxLength", 0)) > 1000:
        kind = "textarea"
    label = labels.label(labels.COMPLAINT_FORM_FIELDS, name)
    return FormField(name, label, kind, required, value, choices)


def form_fields(form: type[BaseModel], values: Mapping[str, str]) -> list[FormField]:
    """The inputs of a step's form, from its pydantic model (required ones marked), with the values given."""
    schema = form.model_json_schema()
    required, defs = set(schema.get("required", ())), schema.get("$defs", {})
    return [
        _field(name, _schema_of(prop, defs), name in required, values.get(name, ""))
        for name, prop in schema["properties"].items()
    ]


def _subtasks(text: str) -> list[dict[str, str]]:
    """Sub-tasks as the page takes them: one a line, "owner: what"."""
    found = []
    for line in text.splitlines():
        owner, sep, what = line.partition(":")
        if line.strip():
            found.append({"owner": owner.strip(), "what": what.strip()} if sep else {"what": line.strip()})
    return found


def posted_form(step: Step, posted: Mapping[str, str]) -> dict[str, Any]:
    """The step's form from the posted fields: empty ones left out (a required one is then reported missing)."""
    fields: dict[str, Any] = {}
    for spec in form_fields(step.form, {}):
        raw = posted.get(spec.name, "").strip()
        if raw:
            fields[spec.name] = _subtasks(raw) if spec.kind == "lines" else raw
    return fields


def _shown_value(name: str, value: Any) -> str:
    """A dossier field's value in Korean: coded values by their names, yes/no, times in KST, sub-tasks a line each."""
    if isinstance(value, bool):
        return labels.YES_NO[value]
    if name == "topic":
        return labels.topic_label(value)
    if name in ("received_at", "due") and value:
        return kst(str(value))
    if isinstance(value, list):
        return "; ".join(_shown_value(name, item) for item in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{labels.label(labels.COMPLAINT_FORM_FIELDS, k)} {_shown_value(k, v)}" for k, v in value.items() if v
        )
    return labels.label(VALUE_LABELS.get(name, {}), value)


def dossier_rows(detail: ComplaintDetail) -> list[dict[str, Any]]:
    """The dossier's entries with their forms' fields in Korean (fields left empty are not shown)."""
    return [
        {
            "entry": entry,
            "fields": [
                (labels.label(labels.COMPLAINT_FORM_FIELDS, name), _shown_value(name, value))
                for name, value in entry.form.items()
                if value not in (None, "", [], {})
            ],
        }
        for entry in detail.steps
    ]


def _steps_for(viewer: Viewer, detail: ComplaintDetail) -> list[Step]:
    """The steps the viewer may take now (an acknowledgement once, the one extension once)."""
    return [
        step
        for step in steps_open_to(detail.state, viewer.role)
        if not (step.action == "acknowledgement" and detail.acknowledged_at)
        and not (step.action == "extension" and detail.extensions >= load_limits().max_extensions)
    ]


async def _complaint_page(
    request: web.Request,
    *,
    refused: Exception | None = None,
    tried: str = "",
    posted: Mapping[str, str] | None = None,
) -> web.Response:
    viewer, complaint_id, now = request_viewer(request), path_id(request, "complaint_id"), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        complaint = await run_async(session, store.get_complaint, viewer, complaint_id)
        record_read(session, viewer, customer_id=complaint.customer_id, fields=COMPLAINT_FIELDS, purpose="complaint")
        detail = await complaint_detail(session, complaint, now)
        units = [entry.org_unit_id for entry in detail.steps]
        names = await run_async(session, complaint_names, [detail], units=units)
    forms = [
        {
            "action": step.action,
            "fields": form_fields(step.form, (posted or {}) if step.action == tried else {}),
        }
        for step in _steps_for(viewer, detail)
    ]
    context = {
        "complaint": detail,
        "row": _queue_row(viewer, detail, names, now),
        "names": names,
        "dossier": dossier_rows(detail),
        "forms": forms,
    }
    error = _step_error(refused, tried, viewer, detail.state) if refused else None
    return render(request, "complaint.html", context, error=error)


async def complaint_page(request: web.Request) -> web.Response:
    """GET /console/complaints/{id}: the record, its dossier, the forms of the steps the viewer may take (audited)."""
    return await _complaint_page(request)


def _step_error(err: Exception, action: str, viewer: Viewer, state: str) -> PageError:
    """Why a step was refused, in Korean: the step and state by name, a bad field by its label."""
    problem = store_problem(err)
    assert problem is not None
    step = labels.label(labels.COMPLAINT_STEPS, action)
    if isinstance(err, IllegalTransition):
        sentence = labels.COMPLAINT_STEP_ILLEGAL.format(step=step, state=labels.label(labels.COMPLAINT_STATES, state))
        return PageError(problem.status, labels.error_text(problem.status), (sentence,))
    if isinstance(err, UnknownStep):
        return PageError(problem.status, labels.error_text(problem.status), (labels.COMPLAINT_STEP_UNKNOWN,))
    if isinstance(err, NotAllowed):
        sentence = labels.COMPLAINT_STEP_NOT_ALLOWED.format(step=step, role=labels.label(labels.ROLES, viewer.role))
        return PageError(problem.status, labels.error_text(problem.status), (sentence,))
    fields = {
        labels.label(labels.COMPLAINT_FORM_FIELDS, name.split(".", 1)[0]): message
        for name, message in (problem.fields or {}).items()
    }
    return page_error(Problem(problem.status, problem.message, fields))


async def take_step(request: web.Request) -> web.StreamResponse:
    """POST /console/complaints/{id}/steps: `action` and the step's fields; the complaint's page again (with why,
    the inputs kept, when refused)."""
    viewer, complaint_id = request_viewer(request), path_id(request, "complaint_id")
    posted = {name: str(value) for name, value in (await request.post()).items() if name != "csrf_token"}
    action = posted.pop("action", "")
    try:
        step = step_named(action)
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await run_async(
                session, store.take_step, viewer, complaint_id, action, posted_form(step, posted), now=utcnow()
            )
            # A transfer up the chain takes the complaint out of the taker's part: back to the queue then.
            still_seen = await run_async(session, sees_complaint, viewer, complaint_id)
    except REFUSED as err:
        return await _complaint_page(request, refused=err, tried=action, posted=posted)
    raise web.HTTPSeeOther(f"/console/complaints/{complaint_id}" if still_seen else "/console/complaints")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/complaints", complaint_queue)
    r.add_get(r"/complaints/{complaint_id:\d{1,10}}", complaint_page)
    r.add_post(r"/complaints/{complaint_id:\d{1,10}}/steps", take_step)
