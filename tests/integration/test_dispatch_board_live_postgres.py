"""The dispatch board's live update across gateway processes on one PostgreSQL database and one Redis: a request
opened and then assigned through one process reaches, as board frames, the board socket a dispatcher of its scope
holds on another process, and never the board of a dispatcher of another province; a board socket needs a board
role and the console's own origin."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from crm_store.db import make_engine
from crm_store.org.tables import Role
from gateway.app import create_app
from gateway.desk import CLOCK
from tests.dispatch_api_helpers import NOW, add_staff, bearer_headers, with_passwords
from tests.dispatch_helpers import SEOLLEUNG, YEOKSAM, add_surveyor, build_world
from tests.review_helpers import console_login
from workers.settings import Settings

pytestmark = pytest.mark.integration

BOARD = "/console/dispatch/ws"


async def _frame(ws: Any, seconds: float = 10.0) -> dict[str, Any]:
    return dict(await asyncio.wait_for(ws.receive_json(), seconds))


def _origin(client: Any) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def test_an_assignment_reaches_every_board_of_its_scope_through_redis(
    aiohttp_client: Any, postgres_url: str, redis_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    engine = make_engine(postgres_url)
    gateways: list[Any] = []
    try:
        world = build_world(engine)
        add_surveyor(engine, world, "surv.kim", at=YEOKSAM)
        add_staff(engine, world, "disp.chuncheon", Role.DISPATCHER, "CHUNCHEON")
        with_passwords(engine)
        headers = bearer_headers(engine, world)
        for _ in range(3):
            app = create_app(settings, embedded_worker=False)
            app[CLOCK] = lambda: NOW
            gateways.append(await aiohttp_client(app))
        api, near, far = gateways
        await console_login(near, "disp.gangnam")
        await console_login(far, "disp.chuncheon")

        # Another site's page cannot open the board with the console's cookie.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await near.ws_connect(BOARD, headers={"Origin": "https://elsewhere.example"})

        async with (
            near.ws_connect(BOARD, headers=_origin(near)) as board,
            far.ws_connect(BOARD, headers=_origin(far)) as other_province,
        ):
            assert (await _frame(board))["type"] == "hello"
            assert (await _frame(other_province))["type"] == "hello"
            body = {"kind": "survey", "location": {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "선릉역"}}
            answer = await api.post("/api/v1/dispatches", json=body, headers=headers["disp.gangnam"])
            assert answer.status == 201, await answer.text()
            request_id = (await answer.json())["id"]
            opened = await _frame(board)
            assert (opened["type"], opened["id"], opened["state"]) == ("request", request_id, "open")

            answer = await api.post(
                f"/api/v1/dispatches/{request_id}/assign", json={"username": "surv.kim"}, headers=headers["cm.seoul"]
            )
            assert answer.status == 200, await answer.text()
            assigned = await _frame(board)
            assert (assigned["id"], assigned["state"]) == (request_id, "assigned")

            # A surveyor's profile changed through the API moves their row and marker on the boards of their unit.
            answer = await api.put(
                "/api/v1/surveyors/surv.kim", json={"status": "en_route"}, headers=headers["surv.kim"]
            )
            assert answer.status == 200, await answer.text()
            moved = await _frame(board)
            assert (moved["type"], moved["surveyor"]) == ("surveyor", "surv.kim")

            # The board it lights up reads the request; the other province's saw neither frame.
            panels = await near.get("/console/dispatch/live")
            assert f'id="request-{request_id}"' in await panels.text()
            with pytest.raises(TimeoutError):
                await _frame(other_province, 0.5)
            assert f'id="request-{request_id}"' not in await (await far.get("/console/dispatch/live")).text()
    finally:
        for client in gateways:
            await client.close()
        engine.dispose()
