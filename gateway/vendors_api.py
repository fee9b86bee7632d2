"""Tow and rescue vendors under /api/v1/vendors: the list serving your part of the organisation, one vendor, its
registration and its changes (crm_store.dispatch.vendors checks who may). Thin handlers."""

from __future__ import annotations

from aiohttp import web

from crm_store.db import async_session_scope
from crm_store.dispatch import access, vendors
from gateway.contract import Answered, Reply
from gateway.dispatch_api import now_of
from gateway.inputs import json_body, path_id, request_viewer
from gateway.keys import SESSIONS


async def list_vendors(request: web.Request) -> Answered:
    """GET /api/v1/vendors"""
    viewer = request_viewer(request)
    async with request.config_dict[SESSIONS]() as session:
        return vendors.VendorList(items=await vendors.list_vendors(session, viewer))


async def get_vendor(request: web.Request) -> Answered:
    """GET /api/v1/vendors/{vendor_id}"""
    viewer = request_viewer(request)
    async with request.config_dict[SESSIONS]() as session:
        return await vendors.get_vendor(session, viewer, path_id(request, "vendor_id"))


async def register_vendor(request: web.Request) -> Answered:
    """POST /api/v1/vendors"""
    viewer = request_viewer(request)
    access.board_only(viewer)  # before the body: another role learns nothing of what it would need
    data = await json_body(request, vendors.VendorCreate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        registered = await vendors.register_vendor(session, viewer, data, now=now_of(request))
    return Reply(registered, {"Location": f"/api/v1/vendors/{registered.id}"})


async def update_vendor(request: web.Request) -> Answered:
    """PATCH /api/v1/vendors/{vendor_id}"""
    viewer = request_viewer(request)
    access.board_only(viewer)
    data = await json_body(request, vendors.VendorUpdate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await vendors.update_vendor(session, viewer, path_id(request, "vendor_id"), data, now=now_of(request))
