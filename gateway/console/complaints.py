"""Console pages of complaints: the queue of the viewer's part of the organisation (filters, search by number, pages,
the resolve limit counted in business days), one complaint with its dossier, and the forms of the steps the viewer
may take next (POST, CSRF-checked). A refused step shows the same page with why, the inputs kept. The store decides
who sees and does what (`crm_store.complaints`); reading a complaint is audited like the API's read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ValidationError

from crm_store.audit import record_read
from crm_store.calendar import KST
from crm_store.complaints import store, subtasks
from crm_store.complaints.coordination import SUBTASK_SUPERVISORS, SubtaskMark
from crm_store.complaints.deadlines import business_days_left, load_limits
from crm_store.complaints.reading import (
    QueueChoices,
    complaint_names,
    queue_choices,
    queue_page,
    sees_complaint,
    transfer_choices,
)
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
QUEUE_FILTERS = (
    "state", "overdue", "category", "number", "unit", "department", "customer", "received_from", "received_to",
)  # fmt: skip
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
    "limit": labels.COMPLAINT_LIMITS,
    "kind": labels.COMPLAINT_NOTICE_KINDS,
    "status": labels.COMPLAINT_NOTICE_STATUS,
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


def shown_customer_name(viewer: Viewer, name: str | None) -> str:
    """The customer's name as the viewer may see it (masked above their clearance, as on every other page)."""
    return str(mask_fields(viewer, "customer", {"name": name or ""})["name"])


def _days_left(complaint: ComplaintPublic, now: datetime) -> int:
    return business_days_left(datetime.fromisoformat(complaint.resolve_by), now=now)


def _queue_row(viewer: Viewer, complaint: ComplaintPublic, names: Any, now: datetime) -> dict[str, Any]:
    days = _days_left(complaint, now)
    soon = 0 <= days <= load_limits().remind_business_days_before and complaint.state != State.CLOSED
    return {
        "complaint": complaint,
        "customer": shown_customer_name(viewer, names.customers.get(complaint.customer_id)),
        "unit": names.units.get(complaint.org_unit_id, ""),
        "department": names.departments.get((complaint.org_unit_id, complaint.department), complaint.department),
        "days_left": days,
        "overdue": complaint.overdue,
        "soon": soon and not complaint.overdue,
    }


QUEUE_FIELDS = ("customer.name", "complaint.summary")


def _queue_filters(request: web.Request, choices: QueueChoices) -> tuple[dict[str, str], PageError | None]:
    """The queue's filters from the query: an unknown one empties them all, and the page says why."""
    filters = {name: request.query.get(name) or "" for name in QUEUE_FILTERS}
    filters["number"] = filters["number"].strip()[:32]
    filters["customer"] = filters["customer"].strip()[:40]
    allowed = {
        "state": labels.COMPLAINT_STATES, "overdue": labels.COMPLAINT_OVERDUE,
        "category": labels.COMPLAINT_CATEGORIES, "unit": {str(k): v for k, v in choices.units.items()},
        "department": choices.departments,
    }  # fmt: skip
    if any(filters[name] not in ("", *known) for name, known in allowed.items()) or not _period_ok(filters):
        return dict.fromkeys(filters, ""), PageError(400, labels.error_text(400), (labels.UNKNOWN_FILTER,))
    return filters, None


def _period_ok(filters: Mapping[str, str]) -> bool:
    try:
        for name in ("received_from", "received_to"):
            if filters[name]:
                date.fromisoformat(filters[name])
    except ValueError:
        return False
    return True


def _period(filters: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """[from, to] days in Korea as the moments [start of from, start of the day after to)."""
    start = (
        datetime.combine(date.fromisoformat(filters["received_from"]), time(), KST)
        if filters["received_from"]
        else None
    )
    end = None
    if filters["received_to"]:
        end = datetime.combine(date.fromisoformat(filters["received_to"]) + timedelta(days=1), time(), KST)
    return start, end


async def complaint_queue(request: web.Request) -> web.Response:
    """GET /console/complaints?state=&overdue=&category=&number=&unit=&department=&customer=&received_from=
    &received_to=&after=: the viewer's complaints (the queue of a unit and department, the archive searched by
    number, customer, category and period), soonest resolve limit first, a page at a time; an unknown filter shows
    the page with why. The customers shown are in the audit trail."""
    viewer, now = request_viewer(request), utcnow()
    after = int_param(request, "after")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        choices = await run_async(session, queue_choices, viewer)
        filters, error = _queue_filters(request, choices)
        page = await run_async(
            session, queue_page, viewer, now=now, limit=PAGE_SIZE, after_id=after,
            state=State(filters["state"]) if filters["state"] else None, overdue=filters["overdue"] == "true",
            category=Category(filters["category"]) if filters["category"] else None, number=filters["number"] or None,
            org_unit_id=int(filters["unit"]) if filters["unit"] else None, department=filters["department"] or None,
            customer=filters["customer"] or None, received=_period(filters),
        )  # fmt: skip
        names = await run_async(session, complaint_names, page.complaints)
        for customer_id in sorted({c.customer_id for c in page.complaints}):
            record_read(session, viewer, customer_id=customer_id, fields=QUEUE_FIELDS, purpose="complaint_queue")
    shown = {name: value for name, value in filters.items() if value}
    context = {
        **filters,
        "choices": choices,
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


def _field(
    name: str, prop: Mapping[str, Any], required: bool, value: str, given: Mapping[str, str] | None = None
) -> FormField:
    kind, choices = "text", {}
    catalogue = VALUE_LABELS.get(name, {})
    pattern = CHOICES.match(str(prop.get("pattern", "")))
    if given is not None:
        kind, choices = "choice", dict(given)
    elif name == "topic":
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


def form_fields(
    form: type[BaseModel], values: Mapping[str, str], choices: Mapping[str, Mapping[str, str]] | None = None
) -> list[FormField]:
    """The inputs of a step's form, from its pydantic model (required ones marked), with the values given; a field
    of `choices` is a choice among those (value: its Korean name)."""
    schema = form.model_json_schema()
    required, defs = set(schema.get("required", ())), schema.get("$defs", {})
    return [
        _field(name, _schema_of(prop, defs), name in required, values.get(name, ""), (choices or {}).get(name))
        for name, prop in schema["properties"].items()
    ]


def _step_choices(action: str, transfer: QueueChoices, here: Mapping[str, str]) -> dict[str, Mapping[str, str]]:
    """The choices of a step's fields that depend on the organisation: where a transfer may go (units and their
    departments), which of the complaint unit's departments coordinates."""
    if action == "transfer":
        return {"to_unit_id": {str(k): v for k, v in transfer.units.items()}, "department": transfer.departments}
    if action == "coordination":
        return {"department": here}
    return {}


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
        if not raw:
            continue
        if spec.kind == "lines":
            fields[spec.name] = _subtasks(raw)
        elif spec.kind == "number" and raw.isdigit():
            fields[spec.name] = int(raw)  # the forms are strict: a number is a number
        elif spec.choices is YES_NO and raw in YES_NO:
            fields[spec.name] = raw == "true"
        else:
            fields[spec.name] = raw
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
        transfer = await run_async(session, transfer_choices, viewer, complaint.org_unit_id)
    here = {code: name for (unit, code), name in names.departments.items() if unit == detail.org_unit_id}
    forms = [
        {
            "action": step.action,
            "fields": form_fields(
                step.form, (posted or {}) if step.action == tried else {}, _step_choices(step.action, transfer, here)
            ),
        }
        for step in _steps_for(viewer, detail)
    ]
    context = {
        "complaint": detail,
        "row": _queue_row(viewer, detail, names, now),
        "names": names,
        "dossier": dossier_rows(detail),
        "forms": forms,
        "department": names.departments.get((detail.org_unit_id, detail.department), detail.department),
        "can_mark": {t.id for t in detail.subtasks if t.owner == viewer.username or viewer.role in SUBTASK_SUPERVISORS},
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
    if isinstance(err, IllegalTransition) and {"agreed", "subtasks"} & set(err.fields or {}):
        sentences = [labels.COMPLAINT_NOT_COORDINATED[name] for name in ("agreed", "subtasks") if name in err.fields]
        return PageError(problem.status, labels.error_text(problem.status), tuple(sentences))
    if isinstance(err, IllegalTransition):
        sentence = labels.COMPLAINT_STEP_ILLEGAL.format(step=step, state=labels.label(labels.COMPLAINT_STATES, state))
        return PageError(problem.status, labels.error_text(problem.status), (sentence,))
    if isinstance(err, UnknownStep):
        return PageError(problem.status, labels.error_text(problem.status), (labels.COMPLAINT_STEP_UNKNOWN,))
    if isinstance(err, NotAllowed):
        sentence = labels.COMPLAINT_STEP_NOT_ALLOWED.format(step=step, role=labels.label(labels.ROLES, viewer.role))
        return PageError(problem.status, labels.error_text(problem.status), (sentence,))
    if isinstance(err, ValidationError):
        fields = korean_field_errors(err)
    else:
        fields = {
            labels.label(labels.COMPLAINT_FORM_FIELDS, name.split(".", 1)[0]): labels.COMPLAINT_FIELD_REFUSED
            for name in (problem.fields or {})
        }
    return page_error(Problem(problem.status, labels.error_text(problem.status), fields))


def korean_field_errors(err: ValidationError) -> dict[str, str]:
    """pydantic's complaints about a form, in Korean, by the field's label (the first one of each field)."""
    found: dict[str, str] = {}
    for problem in err.errors():
        names = [str(part) for part in problem["loc"] if isinstance(part, str) and part not in ("form",)]
        label = labels.label(labels.COMPLAINT_FORM_FIELDS, names[-1] if names else "")
        kind = str(problem["type"]).split(".")[0]
        found.setdefault(label, labels.VALIDATION_TEXTS.get(kind, labels.VALIDATION_TEXTS["value_error"]))
    return found


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


async def mark_subtask(request: web.Request) -> web.StreamResponse:
    """POST /console/complaints/{id}/subtasks/{subtask_id}: `done` true or false; the complaint's page again (with
    why, when refused)."""
    viewer, complaint_id = request_viewer(request), path_id(request, "complaint_id")
    subtask_id = path_id(request, "subtask_id")
    posted = await request.post()
    try:
        mark = SubtaskMark(done=str(posted.get("done", "")) == "true", note=str(posted.get("note") or "") or None)
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await run_async(session, subtasks.mark_subtask, viewer, complaint_id, subtask_id, mark, now=utcnow())
    except REFUSED as err:
        return await _complaint_page(request, refused=err, tried="subtask")
    raise web.HTTPSeeOther(f"/console/complaints/{complaint_id}#subtasks")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/complaints", complaint_queue)
    r.add_get(r"/complaints/{complaint_id:\d{1,10}}", complaint_page)
    r.add_post(r"/complaints/{complaint_id:\d{1,10}}/steps", take_step)
    r.add_post(r"/complaints/{complaint_id:\d{1,10}}/subtasks/{subtask_id:\d{1,10}}", mark_subtask)
