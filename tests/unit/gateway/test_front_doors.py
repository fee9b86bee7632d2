"""The two front doors: the JSON API (/api/v1) answers every error as JSON with its proper status (405 with Allow,
413, 404 for ids no record can have, 400 for query numbers out of range), the console (/console) as an HTML page;
each is a sub-application with its own middlewares, and /console, /console/ lead to the queue."""

from __future__ import annotations

import io
from typing import Any

import pytest

from gateway.api_app import bearer_or_session, json_errors
from gateway.app import create_app
from gateway.console.app import html_pages, signed_in
from gateway.inputs import ids_in_range
from tests.review_helpers import World, console_login
from tests.route_helpers import QUERY_NUMBERS, filled, numeric_routes
from workers.settings import Settings

HUGE = "9" * 20  # more than any integer column holds (SQLite and PostgreSQL alike)


def test_the_api_and_the_console_are_sub_applications_with_their_own_middlewares(settings: Settings) -> None:
    app = create_app(settings, embedded_worker=False)
    mounted = {info["prefix"]: info["app"] for info in (r.get_info() for r in app.router.resources()) if "app" in info}
    assert set(mounted) == {"/api/v1", "/console"}
    assert list(mounted["/api/v1"].middlewares) == [json_errors, bearer_or_session, ids_in_range]
    assert list(mounted["/console"].middlewares) == [html_pages, signed_in, ids_in_range]
    assert not app.middlewares  # the root's own only behind trusted proxies (the client's address)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/calls"),
        ("TRACE", "/api/v1/calls"),
        ("TRACE", "/api/v1/customers/1"),
        ("DELETE", "/api/v1/org-units"),
        ("GET", "/api/v1/review-items/1/take"),
    ],
)
async def test_a_wrong_method_on_the_api_is_405_with_allow(
    world_client: tuple[World, Any], method: str, path: str
) -> None:
    world, client = world_client
    answer = await client.request(method, path, headers=world.auth("admin.hq"))
    assert answer.status == 405 and answer.content_type == "application/json"
    assert answer.headers["Allow"] and (await answer.json())["error"]


async def test_a_json_body_over_the_limit_is_413(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    oversized = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    for method, path in (
        ("POST", "/api/v1/customers"),
        ("PATCH", f"/api/v1/customers/{world.customers['inside']}"),
        ("POST", "/api/v1/blacklist"),
    ):
        headers = {**world.auth("admin.hq"), "Content-Type": "application/json"}
        answer = await client.request(method, path, data=io.BytesIO(oversized), headers=headers)
        assert answer.status == 413 and answer.content_type == "application/json", (path, await answer.text())
        assert "size" in (await answer.json())["error"]


async def test_ids_no_record_can_have_are_404_on_every_api_route(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    routes = numeric_routes(client, "/api/v1/")
    assert len(routes) >= 15
    for method, canonical in routes:
        for number in (HUGE, "0" + HUGE, str(2**31)):
            answer = await client.request(method, filled(canonical, number), headers=world.auth("admin.hq"))
            assert answer.status == 404, (method, canonical, number, answer.status, await answer.text())
            assert answer.content_type == "application/json"


async def test_ids_no_record_can_have_are_404_on_every_console_page(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    csrf = await console_login(client, "admin.hq")
    routes = numeric_routes(client, "/console/")
    assert len(routes) >= 10
    for method, canonical in routes:
        for number in (HUGE, str(2**31)):
            form = {"csrf_token": csrf} if method == "POST" else None
            answer = await client.request(method, filled(canonical, number), data=form)
            assert answer.status == 404, (method, canonical, number, answer.status)
            assert answer.content_type == "text/html"


@pytest.mark.parametrize(
    ("path", "name"),
    [*QUERY_NUMBERS, ("/api/v1/account-managers/account_manager.seocho/events", "limit")],
)
async def test_query_numbers_out_of_range_are_400_naming_the_parameter(
    world_client: tuple[World, Any], path: str, name: str
) -> None:
    world, client = world_client
    for value in (HUGE, str(2**31), "²", "-1"):
        answer = await client.get(path, params={name: value}, headers=world.auth("admin.hq"))
        assert answer.status == 400, (path, name, value, answer.status, await answer.text())
        assert name in (await answer.json())["fields"]


async def test_console_query_numbers_out_of_range_are_refused_not_errors(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    await console_login(client, "admin.hq")
    for path, query in (
        ("/console/audit", {"customer_id": HUGE}),
        ("/console/audit", {"before": HUGE}),
        ("/console/audit", {"customer_id": "²"}),
        ("/console/admin/staff", {"org_unit_id": HUGE}),
    ):
        answer = await client.get(path, params=query)
        assert answer.status in (200, 400) and answer.content_type == "text/html", (path, query, answer.status)


async def test_console_errors_are_pages_with_their_status_and_headers(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    csrf = await console_login(client, "operator.seocho")
    answer = await client.request("TRACE", "/console/queue")
    assert answer.status == 405 and answer.content_type == "text/html" and "GET" in answer.headers["Allow"]
    assert 'id="error"' in await answer.text() and answer.headers["X-Frame-Options"] == "DENY"
    answer = await client.get("/console/nothing-here")
    assert answer.status == 404 and answer.content_type == "text/html"
    oversized = io.BytesIO(f"csrf_token={csrf}&note={'x' * 1024 * 1024}".encode())
    answer = await client.post(
        f"/console/items/{world.items['inside']}/forward",
        data=oversized,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 413 and answer.content_type == "text/html"
    # The API keeps JSON for the same kinds of error, also when used with the console session.
    answer = await client.get("/api/v1/nothing-here")
    assert answer.status == 404 and answer.content_type == "application/json"


async def test_console_and_console_slash_lead_to_the_queue(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    for path in ("/console", "/console/"):
        answer = await client.get(path, allow_redirects=False)
        assert answer.status == 303 and answer.headers["Location"] == "/console/login"
    await console_login(client, "operator.seocho")
    for path in ("/console", "/console/"):
        answer = await client.get(path, allow_redirects=False)
        assert answer.status == 303 and answer.headers["Location"] == "/console/queue"


async def test_the_stylesheet_is_served_and_pages_need_no_inline_style(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    sheet = await client.get("/static/console.css")
    assert sheet.status == 200 and sheet.content_type == "text/css"
    page = await client.get("/console/login")
    text = await page.text()
    assert '<link rel="stylesheet" href="/static/console.css">' in text and "<style" not in text
    assert "style-src 'self';" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
