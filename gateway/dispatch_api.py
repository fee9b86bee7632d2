"""Dispatch under /api/v1/: surveyors' profiles, requests on the board with the time left against their promise,
suggestions, assignment, and the answers and steps of the one sent. Thin handlers: parse, check who may
(crm_store.dispatch.access), call the store, answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_scope
from crm_store.dispatch import access, assignment, board, reports, surveyors
from crm_store.dispatch.errors import DispatchNotFound
from crm_store.dispatch.requests import get_request, open_dispatch_request
from crm_store.dispatch.suggest import suggestions
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.wire import (
    STATES,
    CandidateList,
    DispatchAssignmentCreate,
    DispatchAssignmentPublic,
    DispatchCancel,
    DispatchCreate,
    DispatchPage,
    DispatchPublic,
    StepTaken,
    SurveyorUpdate,
)
from crm_store.org.scope import Viewer
from crm_store.types import utcnow
from gateway.contract import Answered, Reply
from gateway.desk import CLOCK
from gateway.dispatch_live import tell_boards, unit_path
from gateway.dispatch_messages import aftermath
from gateway.inputs import MAX_PAGE, choice_param, int_param, json_body, path_id, request_viewer
from gateway.keys import DISPATCH, RULES, SESSIONS

BOARD_PAGE = 100


def now_of(request: web.Request) -> datetime:
    """The clock of the gateway (tests set their own)."""
    return request.config_dict.get(CLOCK, utcnow)()


def _request_id(request: web.Request) -> int:
    return path_id(request, "request_id")


async def _answer(session: AsyncSession, request: web.Request, changed: DispatchRequest) -> DispatchPublic:
    await session.flush()
    return await board.public_of(session, changed, config=request.config_dict[DISPATCH], now=now_of(request))


# -- surveyors ------------------------------------------------------------------------------------------------------


async def put_surveyor(request: web.Request) -> Answered:
    """PUT /api/v1/surveyors/{username}"""
    viewer, username = request_viewer(request), request.match_info["username"]
    access.may_update_surveyor(viewer, username)  # a role that may not is refused (403) before its body is read
    update = await json_body(request, SurveyorUpdate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await access.check_surveyor_update(session, viewer, username, update)
        changed = await surveyors.put_surveyor(
            session, viewer, username, update, config=request.config_dict[DISPATCH], now=now_of(request)
        )
        await session.flush()
        (profile,) = await surveyors.surveyors_of_province(session, None, username=username)
        path = await unit_path(session, changed.home_unit_id)
    # Committed: the boards that see the surveyor's unit put their row and marker in place.
    await tell_boards(request.config_dict, "surveyor", changed.staff_id, path=path, surveyor=username)
    return profile


# -- requests on the board ------------------------------------------------------------------------------------------


async def open_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches"""
    viewer = _board(request)  # not the board: 403 before the body is read
    data = await json_body(request, DispatchCreate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await access.check_new_request(session, viewer, data)
        opened = await open_dispatch_request(
            session,
            viewer,
            data,
            config=request.config_dict[DISPATCH],
            rules=request.config_dict[RULES],
            unit_id=viewer.org_unit_id,
            now=now_of(request),
        )
        answer = await _answer(session, request, opened)
        then = await aftermath(session, request.config_dict, opened, now=now_of(request))
    await then.follow(request.config_dict)
    return Reply(answer, {"Location": f"/api/v1/dispatches/{answer.id}"})


async def dispatch_board(request: web.Request) -> Answered:
    """GET /api/v1/dispatches?state=&limit=&offset= (a surveyor: their own assignments)"""
    viewer = _field(request)
    state = choice_param(request, "state", STATES)
    limit = int_param(request, "limit", default=BOARD_PAGE, high=MAX_PAGE) or BOARD_PAGE
    offset = int_param(request, "offset", default=0, low=0) or 0
    async with request.config_dict[SESSIONS]() as session:
        rows = await board.board_requests(
            session,
            viewer,
            config=request.config_dict[DISPATCH],
            now=now_of(request),
            only=board.BoardFilter(state, limit + 1, offset),
        )
    following = None
    if len(rows) > limit:
        after = {**({"state": state} if state else {}), "limit": str(limit), "offset": str(offset + limit)}
        following = str(request.rel_url.with_query(after))
    return DispatchPage(items=[row.request for row in rows[:limit]], next=following)


async def get_dispatch(request: web.Request) -> Answered:
    """GET /api/v1/dispatches/{id}"""
    viewer = _field(request)
    async with request.config_dict[SESSIONS]() as session:
        return await board.dispatch_in_scope(
            session, viewer, _request_id(request), config=request.config_dict[DISPATCH], now=now_of(request)
        )


async def get_survey_report(request: web.Request) -> Answered:
    """GET /api/v1/dispatches/{id}/report"""
    viewer, request_id = _field(request), _request_id(request)
    async with request.config_dict[SESSIONS]() as session:
        await access.visible_request(session, viewer, request_id)
        report = await reports.report_of(session, request_id)
    if report is None:
        raise DispatchNotFound(f"no survey report for request {request_id} yet")
    return report


async def dispatch_suggestions(request: web.Request) -> Answered:
    """GET /api/v1/dispatches/{id}/suggestions"""
    viewer, request_id = _board(request), _request_id(request)
    async with request.config_dict[SESSIONS]() as session:
        await access.visible_request(session, viewer, request_id)
        found = await get_request(session, request_id)
        items = await suggestions(session, found, config=request.config_dict[DISPATCH], now=now_of(request))
    return CandidateList(items=items)


async def assign_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches/{id}/assign"""
    viewer, request_id = _board(request), _request_id(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await access.visible_request(session, viewer, request_id)
        whom = await json_body(request, DispatchAssignmentCreate)
        offer = await assignment.assign(
            session,
            viewer,
            request_id,
            username=whom.username,
            vendor_id=whom.vendor_id,
            config=request.config_dict[DISPATCH],
            now=now_of(request),
        )
        assigned = await get_request(session, request_id)
        then = await aftermath(session, request.config_dict, assigned, now=now_of(request), accept_by=offer.accept_by)
    await then.follow(request.config_dict)
    return DispatchAssignmentPublic.model_validate(
        {
            **offer.model_dump(include={"id", "request_id", "vendor_id", "assigned_at", "accept_by"}),
            "username": whom.username if offer.surveyor_id is not None else None,
            "state": "assigned",
        }
    )


async def cancel_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches/{id}/cancel"""

    async def cancel(session: AsyncSession, viewer: Viewer, request_id: int) -> DispatchRequest:
        why = await json_body(request, DispatchCancel)
        return await assignment.cancel(
            session, viewer, request_id, reason=why.reason, unit_id=viewer.org_unit_id, now=now_of(request)
        )

    return await _change(request, _board(request), cancel)


# -- the one sent: accept, decline, steps -----------------------------------------------------------------------------


async def accept_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches/{id}/accept"""
    return await _change(request, _field(request), lambda s, v, i: assignment.accept(s, v, i, now=now_of(request)))


async def decline_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches/{id}/decline: back on the board"""
    return await _change(request, _field(request), lambda s, v, i: assignment.decline(s, v, i, now=now_of(request)))


async def step_dispatch(request: web.Request) -> Answered:
    """POST /api/v1/dispatches/{id}/steps"""

    async def step(session: AsyncSession, viewer: Viewer, request_id: int) -> DispatchRequest:
        taken = await json_body(request, StepTaken)
        return await assignment.advance(session, viewer, request_id, taken.step, now=now_of(request))

    return await _change(request, _field(request), step)


Change = Callable[[AsyncSession, Viewer, int], Awaitable[DispatchRequest]]


async def _change(request: web.Request, viewer: Viewer, change: Change) -> DispatchPublic:
    """`change` made to the request of the path, once the viewer is known to see it (404 otherwise: a body is read
    only then), in one transaction; the request after it."""
    request_id = _request_id(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await access.visible_request(session, viewer, request_id)
        changed = await change(session, viewer, request_id)
        answer = await _answer(session, request, changed)
        then = await aftermath(session, request.config_dict, changed, now=now_of(request))
    await then.follow(request.config_dict)
    return answer


# -- who is asking --------------------------------------------------------------------------------------------------


def _board(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    access.board_only(viewer)
    return viewer


def _field(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    access.field_or_board(viewer)
    return viewer
