"""The tow and rescue vendors' console pages (/console/dispatch/vendors): the vendors serving the viewer's part of
the organisation with their services, service areas and masked phone, a form to register one, and one vendor's page
to change it (or stop offering it). The store (crm_store.dispatch.vendors) decides who may; a refused form shows the
page again with why."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from crm_store.db import async_session_scope
from crm_store.dispatch import access, vendors
from crm_store.org.scope import Viewer
from gateway.console.render import PageError, page_error, render
from gateway.dispatch_api import now_of
from gateway.inputs import path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.middlewares import store_problem

VENDORS = "/console/dispatch/vendors"


def _viewer(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    access.board_only(viewer)
    return viewer


def _form_data(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The form's fields as the API's body: checkboxes and a multiple select as lists; the phone and position when
    given (a blank phone keeps the stored one)."""
    data: dict[str, Any] = {
        "name": str(form.get("name") or "").strip() or None,
        "services": [str(s) for s in form.getall("service", [])] or None,
        "service_unit_ids": [int(u) for u in form.getall("unit", []) if str(u).isdecimal()] or None,
        "capacity": int(str(form.get("capacity"))) if str(form.get("capacity") or "").isdecimal() else None,
        "active": form.get("active") == "on",
    }
    phone = str(form.get("phone") or "").strip()
    if phone:
        data["phone"] = phone
    lat, lon = str(form.get("lat") or "").strip(), str(form.get("lon") or "").strip()
    if lat or lon:
        data["location"] = {"lat": lat, "lon": lon}
    return {k: v for k, v in data.items() if v is not None}


async def _page(request: web.Request, vendor_id: int | None = None, *, error: PageError | None = None) -> web.Response:
    viewer = _viewer(request)
    async with request.config_dict[SESSIONS]() as session:
        units = await vendors.service_units(session, viewer)
        context: dict[str, Any]
        if vendor_id is None:
            context = {"vendors": await vendors.list_vendors(session, viewer), "vendor": None}
        else:
            context = {"vendor": await vendors.get_vendor(session, viewer, vendor_id)}
    return render(request, "vendors.html", {**context, "units": units}, error=error)


async def vendors_page(request: web.Request) -> web.Response:
    """GET /console/dispatch/vendors"""
    return await _page(request)


async def vendor_page(request: web.Request) -> web.Response:
    """GET /console/dispatch/vendors/{vendor_id}"""
    return await _page(request, path_id(request, "vendor_id"))


async def _save(request: web.Request, vendor_id: int | None) -> web.StreamResponse:
    viewer = _viewer(request)
    form = await request.post()
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            if vendor_id is None:
                data = vendors.VendorCreate.model_validate(_form_data(form))
                saved = await vendors.register_vendor(session, viewer, data, now=now_of(request))
            else:
                await vendors.get_vendor(session, viewer, vendor_id)  # unknown outside the viewer's reach, first
                change = vendors.VendorUpdate.model_validate(_form_data(form))
                saved = await vendors.update_vendor(session, viewer, vendor_id, change, now=now_of(request))
    except Exception as err:
        problem = store_problem(err)
        if problem is None:
            raise
        return await _page(request, vendor_id, error=page_error(problem))
    raise web.HTTPSeeOther(f"{VENDORS}#vendor-{saved.id}")


async def register_form(request: web.Request) -> web.StreamResponse:
    """POST /console/dispatch/vendors: register a vendor."""
    return await _save(request, None)


async def change_form(request: web.Request) -> web.StreamResponse:
    """POST /console/dispatch/vendors/{vendor_id}: change a vendor."""
    return await _save(request, path_id(request, "vendor_id"))


def setup_routes(app: web.Application) -> None:
    """The vendors' pages and forms."""
    one = r"/dispatch/vendors/{vendor_id:\d{1,10}}"
    app.router.add_get("/dispatch/vendors", vendors_page)
    app.router.add_post("/dispatch/vendors", register_form)
    app.router.add_get(one, vendor_page)
    app.router.add_post(one, change_form)
