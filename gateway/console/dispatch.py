"""The dispatch board (/console/dispatch): the live requests of the dispatcher's part of the organisation by urgency
and time left against their promise (late ones red), the suggested surveyors (vendors) of each open request with
their reasons and a one-click assignment, drafts from calls to confirm with the place, surveyors and vendors by
status in a list and on a map of Korea, and the assignment history. When a board frame arrives on its WebSocket
(gateway.dispatch_live) the page reads again only what the frame names (/console/dispatch/live/change) and puts it in
place; the whole panels are read again now and then and on reconnecting. A refused step shows the board with why.

One request's page (/console/dispatch/{id}) shows its assignments and, once filed, the survey report with its
photos and the customer's signature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_scope
from crm_store.dispatch import access, assignment, board, board_view, reports
from crm_store.dispatch.errors import DispatchNotFound
from crm_store.dispatch.promises import CLOSED
from crm_store.dispatch.requests import confirm_draft, get_request
from crm_store.dispatch.suggest import suggestions
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.wire import Place
from crm_store.org.scope import Viewer
from crm_store.validation import InvalidInput
from gateway import korea_map
from gateway.console.render import PageError, page_error, render
from gateway.dispatch_api import now_of
from gateway.dispatch_live import BOARDS, board_socket
from gateway.dispatch_messages import aftermath
from gateway.inputs import path_id, request_viewer
from gateway.keys import DISPATCH, RULES, SESSIONS
from gateway.middlewares import store_problem

BOARD = "/console/dispatch"
# Open requests whose candidates the board shows inline (the most urgent first), and how many candidates each: every
# open board reads its panels again on each frame, so they stay cheap; the others' candidates are on their own page.
SUGGESTED_REQUESTS = 5
SUGGESTED_CANDIDATES = 3


def _board_viewer(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    access.board_only(viewer)
    return viewer


def _marker(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    return korea_map.project(lat, lon) if lat is not None and lon is not None else None


async def _panels(request: web.Request, viewer: Viewer) -> dict[str, Any]:
    """Everything the board's panels show: the same for every board of the viewer's unit, read once per change."""
    return dict(await request.config_dict[BOARDS].reads.read(viewer.org_unit_id, lambda: _read_panels(request, viewer)))


async def _read_panels(request: web.Request, viewer: Viewer) -> dict[str, Any]:
    """Everything the board's panels show, read in one session."""
    config, now = request.config_dict[DISPATCH], now_of(request)
    async with request.config_dict[SESSIONS]() as session:
        rows = await board.board_requests(session, viewer, config=config, now=now)
        candidates: dict[int, list[Any]] = {}
        for row in [r for r in rows if r.request.state == "open"][:SUGGESTED_REQUESTS]:
            found = await get_request(session, row.request.id)
            candidates[row.request.id] = (await suggestions(session, found, config=config, now=now))[
                :SUGGESTED_CANDIDATES
            ]
        surveyors = await board_view.surveyors_in_scope(session, viewer)
        vendors = await board_view.vendors_on_board(session, viewer)
        history = await board_view.assignment_history(session, viewer)
    return {
        "rows": rows,
        "candidates": candidates,
        "surveyors": surveyors,
        "vendors": vendors,
        "history": history,
        "now": now,
        "markers": {
            "requests": [
                (r.request, _marker(r.request.location.lat, r.request.location.lon))
                for r in rows
                if r.request.location is not None
            ],  # fmt: skip
            "surveyors": [(s, _marker(s.lat, s.lon)) for s in surveyors if s.lat is not None],
            "vendors": [(v, _marker(v.lat, v.lon)) for v in vendors if v.lat is not None],
        },
    }


def _map(*, outlines: bool = True) -> dict[str, Any]:
    provinces = korea_map.provinces() if outlines else ()
    return {"provinces": provinces, "width": korea_map.WIDTH, "height": korea_map.HEIGHT}


async def _board_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    viewer = _board_viewer(request)
    # The whole page reads afresh (it may open before the frame of a change reaches this process).
    return render(request, "dispatch_board.html", {**await _read_panels(request, viewer), "map": _map()}, error=error)


async def board_page(request: web.Request) -> web.Response:
    """GET /console/dispatch"""
    return await _board_page(request)


async def board_panels(request: web.Request) -> web.Response:
    """GET /console/dispatch/live: the board's panels alone, read again by the page now and then (and when it
    reconnects) so that what the frames changed one by one stays consistent with the whole."""
    viewer = _board_viewer(request)
    return render(request, "dispatch_panels.html", {**await _panels(request, viewer), "map": _map(outlines=False)})


def _query_id(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "")
    return int(value) if value.isdecimal() else None


async def board_change(request: web.Request) -> web.Response:
    """GET /console/dispatch/live/change?request=&surveyor=&vendor=: what one board frame names, read again within
    the viewer's scope: the request's row (`gone` once it closed or lies outside the scope; its candidates when
    open), the surveyor's and the vendor's rows, the request's latest assignment. The boards of one unit share one
    read of each change."""
    viewer = _board_viewer(request)
    request_id, vendor_id = _query_id(request, "request"), _query_id(request, "vendor")
    username = request.query.get("surveyor") or None
    key = ("change", viewer.org_unit_id, request_id, username, vendor_id)
    context = await request.config_dict[BOARDS].reads.read(
        key, lambda: _read_change(request, viewer, request_id, username, vendor_id)
    )
    return render(request, "dispatch_change.html", {**context, "at": lambda w: _marker(w.lat, w.lon)})


async def _read_change(
    request: web.Request, viewer: Viewer, request_id: int | None, username: str | None, vendor_id: int | None
) -> dict[str, Any]:
    config, now = request.config_dict[DISPATCH], now_of(request)
    row, gone, candidates, history = None, [], {}, []
    async with request.config_dict[SESSIONS]() as session:
        if request_id is not None:
            try:
                row = await board.board_row(session, viewer, request_id, config=config, now=now)
            except DispatchNotFound:
                row = None
            if row is None or row.request.state in CLOSED:
                row, gone = None, [f"request-{request_id}", f"marker-request-{request_id}"]
            else:
                history = await board_view.assignment_history(session, viewer, request_id=request_id, limit=1)
            if row is not None and row.request.state == "open":
                found = await get_request(session, request_id)
                candidates[request_id] = (await suggestions(session, found, config=config, now=now))[
                    :SUGGESTED_CANDIDATES
                ]
        surveyors = [] if username is None else await board_view.surveyors_in_scope(session, viewer, username=username)
        vendors = [] if vendor_id is None else await board_view.vendors_on_board(session, viewer, vendor_id=vendor_id)
    location = row.request.location if row is not None else None
    return {
        "row": row, "gone": gone, "candidates": candidates, "history": history, "surveyors": surveyors,
        "vendors": vendors, "marker": _marker(location.lat, location.lon) if location is not None else None,
    }  # fmt: skip


Step = Callable[[AsyncSession, Viewer, int, Any], Awaitable[tuple[DispatchRequest, Any]]]


async def _step(request: web.Request, step: Step) -> web.StreamResponse:
    """A step of the board on the request of the path, from a form; the board again (with why, when refused)."""
    viewer, request_id = _board_viewer(request), path_id(request, "request_id")
    form = await request.post()
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await access.visible_request(session, viewer, request_id)
            changed, accept_by = await step(session, viewer, request_id, form)
            await session.flush()
            then = await aftermath(session, request.config_dict, changed, now=now_of(request), accept_by=accept_by)
    except Exception as err:
        problem = store_problem(err)
        if problem is None:
            raise
        return await _board_page(request, error=page_error(problem))
    await then.follow(request.config_dict)
    raise web.HTTPSeeOther(f"{BOARD}#request-{request_id}")


async def assign_form(request: web.Request) -> web.StreamResponse:
    """POST /console/dispatch/{id}/assign (username or vendor_id): one click on a suggested candidate."""

    async def assign(session: AsyncSession, viewer: Viewer, request_id: int, form: Any) -> tuple[DispatchRequest, Any]:
        username = str(form.get("username") or "") or None
        vendor = str(form.get("vendor_id") or "")
        offer = await assignment.assign(
            session, viewer, request_id, username=username, vendor_id=int(vendor) if vendor.isdecimal() else None,
            config=request.config_dict[DISPATCH], now=now_of(request),
        )  # fmt: skip
        return await get_request(session, request_id), offer.accept_by

    return await _step(request, assign)


async def confirm_form(request: web.Request) -> web.StreamResponse:
    """POST /console/dispatch/{id}/confirm (lat, lon, address): a draft from a call opens with its place."""

    async def confirm(session: AsyncSession, viewer: Viewer, request_id: int, form: Any) -> tuple[DispatchRequest, Any]:
        place = Place.model_validate(
            {k: form.get(k) or None for k in ("lat", "lon")} | {"address": form.get("address", "")}
        )
        opened = await confirm_draft(
            session, viewer, request_id, place, config=request.config_dict[DISPATCH],
            rules=request.config_dict[RULES], unit_id=viewer.org_unit_id, now=now_of(request),
        )  # fmt: skip
        return opened, None

    return await _step(request, confirm)


async def vendor_step_form(request: web.Request) -> web.StreamResponse:
    """POST /console/dispatch/{id}/vendor (step: accept, en_route, on_site, done): the board answers for a vendor."""

    async def step(session: AsyncSession, viewer: Viewer, request_id: int, form: Any) -> tuple[DispatchRequest, Any]:
        taken, now = str(form.get("step") or ""), now_of(request)
        if taken == "accept":
            return await assignment.accept(session, viewer, request_id, now=now), None
        if taken not in ("en_route", "on_site", "done"):
            raise InvalidInput({"step": "en_route, on_site or done"})
        return await assignment.advance(session, viewer, request_id, taken, now=now), None

    return await _step(request, step)


async def request_page(request: web.Request) -> web.Response:
    """GET /console/dispatch/{id}: one request, its assignments and its survey report."""
    viewer, request_id = request_viewer(request), path_id(request, "request_id")
    access.field_or_board(viewer)
    config, now = request.config_dict[DISPATCH], now_of(request)
    async with request.config_dict[SESSIONS]() as session:
        shown = await board.dispatch_in_scope(session, viewer, request_id, config=config, now=now)
        history = await board_view.assignment_history(session, viewer, request_id=request_id)
        report = await reports.report_of(session, request_id)
        candidates = []
        if shown.state == "open" and viewer.role in access.BOARD_ROLES:
            candidates = await suggestions(session, await get_request(session, request_id), config=config, now=now)
    context = {"req": shown, "history": history, "report": report, "candidates": candidates}
    return render(request, "dispatch_request.html", context)


async def _report_file(request: web.Request, read: Callable[[AsyncSession, int], Awaitable[Any]]) -> Any:
    """What `read` finds of the report of the path's request, once the viewer is known to see it (404 otherwise)."""
    viewer, request_id = request_viewer(request), path_id(request, "request_id")
    access.field_or_board(viewer)
    async with request.config_dict[SESSIONS]() as session:
        await access.visible_request(session, viewer, request_id)
        return await read(session, request_id)


async def report_photo(request: web.Request) -> web.Response:
    """GET /console/dispatch/{id}/photos/{photo_id}"""
    photo_id = path_id(request, "photo_id")
    photo = await _report_file(request, lambda session, request_id: reports.photo_of(session, request_id, photo_id))
    return web.Response(body=photo.data, content_type=photo.content_type)


async def report_signature(request: web.Request) -> web.Response:
    """GET /console/dispatch/{id}/signature"""
    return web.Response(body=await _report_file(request, reports.signature_of), content_type="image/png")


def setup_routes(app: web.Application) -> None:
    """The board's pages, its steps and its socket."""
    one = r"/dispatch/{request_id:\d+}"
    app.router.add_get("/dispatch", board_page)
    app.router.add_get("/dispatch/live", board_panels)
    app.router.add_get("/dispatch/live/change", board_change)
    app.router.add_get("/dispatch/ws", board_socket)
    app.router.add_get(one, request_page)
    app.router.add_post(one + "/assign", assign_form)
    app.router.add_post(one + "/confirm", confirm_form)
    app.router.add_post(one + "/vendor", vendor_step_form)
    app.router.add_get(one + r"/photos/{photo_id:\d+}", report_photo)
    app.router.add_get(one + "/signature", report_signature)
