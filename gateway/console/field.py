"""The surveyor's page, made for a phone (/console/field): their assignments, and for one of them the place with a
navigation link, accept or decline, the status buttons (en route, arrived), their position, and the survey report
(damage, liability, estimate, photos, the customer's signature drawn on the screen) that closes the survey.

The report comes as multipart/form-data sent by the page's script with the CSRF header (photos are larger than a
form the console reads whole): each part is read with its own bound, and the store checks each file's type by its
first bytes (crm_store.dispatch.reports). A refused step shows the page again with why."""

from __future__ import annotations

import base64
import binascii

from aiohttp import BodyPartReader, web
from pydantic import ValidationError

from crm_store.db import async_session_scope
from crm_store.dispatch import access, assignment, board, reports, surveyors
from crm_store.dispatch.errors import InvalidDispatch
from crm_store.dispatch.requests import get_request
from crm_store.dispatch.wire import Position
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.validation import InvalidInput, NotAllowed
from gateway.console.render import PageError, page_error, render
from gateway.dispatch_api import now_of
from gateway.dispatch_live import tell_boards, unit_path
from gateway.dispatch_messages import aftermath
from gateway.inputs import path_id, request_viewer
from gateway.keys import DISPATCH, RULES, SESSIONS
from gateway.middlewares import CSRF_FIELD, store_problem

FIELD = "/console/field"
# A text field of the report form is small; anything near this is not one.
MAX_TEXT = 16 * 1024
SIGNATURE_PREFIX = "data:image/png;base64,"
STEPS = {"en_route": "출발", "on_site": "현장 도착"}


def _surveyor(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    if viewer.role is not Role.SURVEYOR:
        raise NotAllowed("the field page is the surveyors'")
    return viewer


def navigation_link(lat: float, lon: float, address: str) -> str:
    """A map app's route to the scene (Kakao Map's link scheme; it opens the app or the web map on a phone)."""
    name = (address or "현장").replace(",", " ")[:60]
    return f"https://map.kakao.com/link/to/{name},{lat:.6f},{lon:.6f}"


async def field_list(request: web.Request) -> web.Response:
    """GET /console/field: the surveyor's live assignments."""
    viewer = _surveyor(request)
    async with request.config_dict[SESSIONS]() as session:
        rows = await board.board_requests(session, viewer, config=request.config_dict[DISPATCH], now=now_of(request))
    return render(request, "field_list.html", {"rows": rows})


async def _field_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    viewer, request_id = _surveyor(request), path_id(request, "request_id")
    async with request.config_dict[SESSIONS]() as session:
        shown = await board.dispatch_in_scope(
            session, viewer, request_id, config=request.config_dict[DISPATCH], now=now_of(request)
        )
        report = await reports.report_of(session, request_id)
    link = navigation_link(shown.location.lat, shown.location.lon, shown.location.address) if shown.location else None
    context = {"req": shown, "report": report, "navigation": link, "steps": STEPS}
    return render(request, "field_request.html", context, error=error)


async def field_page(request: web.Request) -> web.Response:
    """GET /console/field/{id}"""
    return await _field_page(request)


async def field_step(request: web.Request) -> web.StreamResponse:
    """POST /console/field/{id}/step (step: accept, decline, en_route, on_site)"""
    viewer, request_id = _surveyor(request), path_id(request, "request_id")
    taken, now = str((await request.post()).get("step") or ""), now_of(request)
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await access.visible_request(session, viewer, request_id)
            if taken == "accept":
                changed = await assignment.accept(session, viewer, request_id, now=now)
            elif taken == "decline":
                changed = await assignment.decline(session, viewer, request_id, now=now)
            elif taken in STEPS:
                changed = await assignment.advance(session, viewer, request_id, taken, now=now)
            else:
                raise InvalidInput({"step": "accept, decline, en_route or on_site"})
            await session.flush()
            then = await aftermath(session, request.config_dict, changed, now=now)
    except Exception as err:
        return await _refused(request, err)
    await then.follow(request.config_dict)
    raise web.HTTPSeeOther(FIELD if taken == "decline" else f"{FIELD}/{request_id}")


async def _refused(request: web.Request, err: Exception) -> web.Response:
    problem = store_problem(err)
    if problem is None:
        raise err
    return await _field_page(request, error=page_error(problem))


async def field_position(request: web.Request) -> web.StreamResponse:
    """POST /console/field/{id}/position (lat, lon): where the surveyor is now (the phone's location)."""
    viewer, request_id = _surveyor(request), path_id(request, "request_id")
    form = await request.post()
    try:
        position = Position.model_validate({"lat": form.get("lat"), "lon": form.get("lon")})
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await access.visible_request(session, viewer, request_id)
            profile = await surveyors.report_position(session, viewer.staff_id, position, now=now_of(request))
            path = await unit_path(session, profile.home_unit_id)
    except ValidationError:
        return await _refused(request, InvalidInput({"position": "위도 33~39, 경도 124~132"}))
    except Exception as err:
        return await _refused(request, err)
    await tell_boards(request.config_dict, "surveyor", viewer.staff_id, path=path, surveyor=viewer.username)
    raise web.HTTPSeeOther(f"{FIELD}/{request_id}")


async def _report_form(request: web.Request) -> tuple[dict[str, str], list[reports.Upload]]:
    """The report form's text fields and photos, each part read within its bound (InvalidDispatch past it)."""
    fields: dict[str, str] = {}
    photos: list[reports.Upload] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise InvalidDispatch("the report form is flat", fields={"form": "no nested parts"})
        if part.name == "photos":
            if len(photos) >= reports.MAX_PHOTOS:
                raise InvalidDispatch(f"photos: at most {reports.MAX_PHOTOS}", fields={"photos": "too many"})
            data = await _bounded(part, reports.MAX_PHOTO_BYTES, "photos")
            if data:
                photos.append(reports.Upload(part.headers.get("Content-Type", ""), data))
        else:
            fields[part.name] = (await _bounded(part, MAX_TEXT, part.name)).decode("utf-8", "replace")
    return fields, photos


async def _bounded(part: BodyPartReader, limit: int, field: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise InvalidDispatch(f"{field}: over {limit} bytes", fields={field: f"at most {limit} bytes"})
    return bytes(data)


def _signature(text: str) -> reports.Upload | None:
    if not text:
        return None
    if not text.startswith(SIGNATURE_PREFIX):
        raise InvalidDispatch("signature: a PNG drawing", fields={"signature": "PNG"})
    try:
        return reports.Upload("image/png", base64.b64decode(text[len(SIGNATURE_PREFIX) :], validate=True))
    except binascii.Error as err:
        raise InvalidDispatch("signature: not base64", fields={"signature": "PNG"}) from err


async def field_report(request: web.Request) -> web.StreamResponse:
    """POST /console/field/{id}/report (multipart: damage, liability_percent, estimate_won, photos, signature)"""
    viewer, request_id = _surveyor(request), path_id(request, "request_id")
    now = now_of(request)
    try:
        async with request.config_dict[SESSIONS]() as session:
            await access.visible_request(session, viewer, request_id)
        if request.content_type != "multipart/form-data":
            raise InvalidDispatch("the report is sent as multipart/form-data", fields={"form": "multipart"})
        fields, photos = await _report_form(request)
        fields.pop(CSRF_FIELD, None)
        findings = reports.SurveyFindings.model_validate(
            {k: fields.get(k, "").strip() or None for k in ("damage", "liability_percent", "estimate_won")}
        )
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await access.visible_request(session, viewer, request_id)
            await reports.file_report(
                session, viewer, request_id, findings, photos=photos,
                signature=_signature(fields.get("signature", "")), rules=request.config_dict[RULES], now=now,
            )  # fmt: skip
            changed = await get_request(session, request_id)
            then = await aftermath(session, request.config_dict, changed, now=now)
    except Exception as err:
        return await _refused(request, err)
    await then.follow(request.config_dict)
    raise web.HTTPSeeOther(f"{FIELD}/{request_id}")


def setup_routes(app: web.Application) -> None:
    """The surveyor's pages and steps."""
    one = r"/field/{request_id:\d+}"
    app.router.add_get("/field", field_list)
    app.router.add_get(one, field_page)
    app.router.add_post(one + "/step", field_step)
    app.router.add_post(one + "/position", field_position)
    app.router.add_post(one + "/report", field_report)
