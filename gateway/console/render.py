"""How the console renders: Jinja2 templates of `gateway/templates` through aiohttp-jinja2, autoescaped, with
the catalogue's labels and one way of showing a time (Korea time, `kst`). Every page gets the signed-in user
and the session's CSRF token; a failed action comes back as the same page with its error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from crm_store.complaints.steps import STEP_TAKERS
from crm_store.validation import BUSINESS_TZ
from gateway import labels
from gateway.keys import CSRF_TOKEN, STAFF
from gateway.middlewares import Problem

TIME_FORMAT = "%Y-%m-%d %H:%M"


def kst(moment: datetime | str | None) -> str:
    """A moment as Korea time in the console's one format ("2026-11-25 08:30"); '' for none. A naive time or
    an ISO string without offset is taken as UTC (how the store keeps them)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BUSINESS_TZ).strftime(TIME_FORMAT)


def _label(code: object, catalogue: Mapping[Any, str]) -> str:
    """`{{ code | label(labels.SEGMENTS) }}`: the Korean name of a code."""
    return labels.label(catalogue, code)


FILTERS: dict[str, Callable[..., str]] = {
    "kst": kst,
    "label": _label,
    "call_type": labels.call_type_label,
    "topic": labels.topic_label,
}


def setup_templates(app: web.Application) -> None:
    """Templates of the console sub-application, autoescaped; undefined names fail instead of showing blank."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("gateway", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        default_helpers=False,
        filters=FILTERS,
    )
    env = aiohttp_jinja2.get_env(app)
    env.globals["labels"] = labels
    env.globals["complaint_roles"] = sorted(role.value for role in STEP_TAKERS)


@dataclass(frozen=True)
class PageError:
    """What a failed page or form shows: a Korean headline by status, then the details (the store's words)."""

    status: int
    headline: str
    details: tuple[str, ...]


def page_error(problem: Problem) -> PageError:
    """The error of a problem as a page shows it; the bare HTTP reason ("Not Found") is not repeated."""
    details = []
    try:
        reason = HTTPStatus(problem.status).phrase
    except ValueError:
        reason = ""
    headline = labels.error_text(problem.status)
    generic = problem.fields and problem.message == "invalid input"  # the fields below say what
    if problem.message and problem.message not in (reason, headline) and not generic:
        details.append(problem.message)
    details += [f"{name}: {message}" for name, message in (problem.fields or {}).items()]
    return PageError(problem.status, headline, tuple(details))


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    error: PageError | None = None,
) -> web.Response:
    """A console page: the template with the user, the CSRF token and the error (if any) added to its context;
    a failed form answers with the error's status."""
    common = {"user": request.get(STAFF), "csrf": request.get(CSRF_TOKEN, ""), "error": error}
    return aiohttp_jinja2.render_template(
        template, request, {**common, **(context or {})}, status=error.status if error else status
    )
