"""The dispatch board's console steps: a tow request reaches the vendor that serves its area (suggested on the
board, assigned in one click, told by a text message through Twilio's API, answered by the board on its behalf up to
done); a draft from a classified call is confirmed with its place and opens with its promise; a refused step shows
the board again with why; the surveyor's report refuses a file that is not the image it claims to be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from crm_store.calls.tables import Call
from crm_store.dispatch.requests import draft_from_call
from crm_store.dispatch.tables import DispatchRequest, Vendor
from crm_store.org.tables import Role
from gateway.app import create_app
from gateway.console.dispatch import SUGGESTED_REQUESTS
from gateway.desk import CLOCK
from gateway.twilio_stand_in import TwilioStandIn
from tests.dispatch_api_helpers import NOW, add_staff, bearer_headers, deliver_messages, with_passwords
from tests.dispatch_helpers import GANGNAM, SEOLLEUNG, YEOKSAM, World, add_surveyor, build_world
from tests.review_helpers import console_login
from workers.settings import Settings

VENDOR_PHONE = "+821066660003"
SCENE = {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "서울 강남구 선릉역"}


@pytest.fixture
async def twilio(settings: Settings) -> AsyncIterator[TwilioStandIn]:
    """Twilio's REST API stand-in, where the gateway sends its messages."""
    stand_in = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def world(engine: Any) -> World:
    """The dispatch world with a surveyor near the scene, everyone signing in with the demo password."""
    world = build_world(engine)
    add_surveyor(engine, world, "surv.kim", at=YEOKSAM)
    with_passwords(engine)
    return world


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, twilio: TwilioStandIn, world: World) -> Any:
    """The gateway on the world's database, its clock on NOW, its messages to the stand-in."""
    app = create_app(settings.model_copy(update={"twilio_api_base": twilio.base_url}), embedded_worker=False)
    app[CLOCK] = lambda: NOW
    return await aiohttp_client(app)


async def _open(client: Any, headers: dict[str, str], kind: str = "survey") -> int:
    answer = await client.post("/api/v1/dispatches", json={"kind": kind, "location": SCENE}, headers=headers)
    assert answer.status == 201, await answer.text()
    return int((await answer.json())["id"])


async def _sent(twilio: TwilioStandIn, to: str, engine: Any, settings: Settings) -> list[str]:
    """The messages to `to` once the workers sent those the steps wrote."""
    await deliver_messages(engine, settings, twilio.base_url)
    return [m["body"] for m in twilio.messages if m["to"] == to]


async def test_a_tow_request_reaches_the_vendor_of_its_area(
    client: Any, world: World, twilio: TwilioStandIn, engine: Any, settings: Settings
) -> None:
    with Session(engine) as session:
        session.add(Vendor(name="강남견인", phone=VENDOR_PHONE, services=["tow"],
                           service_unit_ids=[world.units["SEOUL"]], lat=GANGNAM[0], lon=GANGNAM[1]))  # fmt: skip
        session.add(Vendor(name="춘천견인", services=["tow"], service_unit_ids=[world.units["GANGWON"]],
                           lat=SEOLLEUNG[0], lon=SEOLLEUNG[1]))  # fmt: skip
        session.commit()
        vendor_id = session.exec(select(Vendor.id).where(Vendor.name == "강남견인")).one()
    headers = bearer_headers(engine, world)
    request_id = await _open(client, headers["disp.gangnam"], "tow")
    csrf = await console_login(client, "disp.gangnam")
    board = await (await client.get("/console/dispatch")).text()
    assert f'id="assign-{request_id}-{vendor_id}"' in board and "춘천견인" not in board  # nor on its vendor list
    assert "서울지역본부" in board  # the vendor's service area

    chosen = {"vendor_id": str(vendor_id), "csrf_token": csrf}
    answer = await client.post(f"/console/dispatch/{request_id}/assign", data=chosen, allow_redirects=False)
    assert answer.status == 303
    told = await _sent(twilio, VENDOR_PHONE, engine, settings)
    assert told and f"접수번호 {request_id}" in told[0] and "견인" in told[0]
    for step, state in (("accept", "accepted"), ("en_route", "en_route"), ("on_site", "on_site"), ("done", "done")):
        answer = await client.post(f"/console/dispatch/{request_id}/vendor",
                                   data={"step": step, "csrf_token": csrf}, allow_redirects=False)  # fmt: skip
        assert answer.status == 303, await answer.text()
        with Session(engine) as session:
            request = session.get(DispatchRequest, request_id)
            assert request is not None and request.state == state and request.vendor_id == vendor_id

    # A step the request is past: the board again, with why, in Korean.
    answer = await client.post(f"/console/dispatch/{request_id}/vendor",
                               data={"step": "accept", "csrf_token": csrf}, allow_redirects=False)  # fmt: skip
    assert answer.status == 409
    page = await answer.text()
    assert 'id="form-error"' in page and "출동 배정 현황판" in page


async def test_a_draft_from_a_call_is_confirmed_on_the_board(
    client: Any, world: World, twilio: TwilioStandIn, engine: Any
) -> None:
    sid = "CA" + "4" * 32
    with Session(engine) as session:
        session.add(Call(call_sid=sid, type="dispatch", topic="dispatch.surveyor", transcript="사고 났어요",
                         customer_id=world.customers["quality"]))  # fmt: skip
        session.commit()
        draft = draft_from_call(session, sid, now=NOW)
        assert draft is not None
        session.commit()
        draft_id = int(draft.id or 0)
    csrf = await console_login(client, "disp.gangnam")
    board = await (await client.get("/console/dispatch")).text()
    assert f'id="confirm-{draft_id}"' in board and "확인 대기" in board
    # Without its place the draft stays a draft; the board says why.
    nowhere = {"lat": "", "lon": "127.0", "csrf_token": csrf}
    answer = await client.post(f"/console/dispatch/{draft_id}/confirm", data=nowhere, allow_redirects=False)
    assert answer.status == 422 and 'id="form-error"' in await answer.text()
    answer = await client.post(
        f"/console/dispatch/{draft_id}/confirm",
        data={"lat": str(SEOLLEUNG[0]), "lon": str(SEOLLEUNG[1]), "address": "선릉역 3번 출구", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status == 303
    with Session(engine) as session:
        request = session.get(DispatchRequest, draft_id)
        assert request is not None and request.state == "open" and request.due_at is not None
        assert request.address == "선릉역 3번 출구"
    board = await (await client.get("/console/dispatch")).text()
    assert f'id="assign-{draft_id}-surv.kim"' in board


async def test_the_candidates_of_a_request_beyond_the_board_are_on_its_page(
    client: Any, world: World, twilio: TwilioStandIn, engine: Any
) -> None:
    headers = bearer_headers(engine, world)
    ids = []
    for _ in range(SUGGESTED_REQUESTS + 1):
        ids.append(await _open(client, headers["disp.gangnam"]))
    await console_login(client, "disp.gangnam")
    board = await (await client.get("/console/dispatch")).text()
    last = ids[-1]  # the least urgent: due last
    assert all(f'id="assign-{i}-surv.kim"' in board for i in ids[:-1])
    assert f'id="assign-{last}-surv.kim"' not in board and f'href="/console/dispatch/{last}"' in board
    page = await (await client.get(f"/console/dispatch/{last}")).text()
    assert f'id="assign-{last}-surv.kim"' in page and "예상 도착" in page


async def test_a_report_with_a_photo_that_is_not_what_it_claims_is_refused_on_the_page(
    client: Any, world: World, twilio: TwilioStandIn, engine: Any
) -> None:
    headers = bearer_headers(engine, world)
    request_id = await _open(client, headers["disp.gangnam"])
    await client.post(f"/api/v1/dispatches/{request_id}/assign", json={"username": "surv.kim"},
                      headers=headers["disp.gangnam"])  # fmt: skip
    for path, body in (("accept", None), ("steps", {"step": "en_route"}), ("steps", {"step": "on_site"})):
        answer = await client.post(f"/api/v1/dispatches/{request_id}/{path}", json=body, headers=headers["surv.kim"])
        assert answer.status == 200, await answer.text()
    csrf = await console_login(client, "surv.kim")
    form = aiohttp.FormData()
    for name, value in (("damage", "범퍼 파손"), ("liability_percent", "20"), ("estimate_won", "500000")):
        form.add_field(name, value)
    form.add_field("photos", b"<html>not a photo</html>", filename="a.jpg", content_type="image/jpeg")
    answer = await client.post(f"/console/field/{request_id}/report", data=form, headers={"X-CSRF-Token": csrf},
                               allow_redirects=False)  # fmt: skip
    assert answer.status == 422
    page = await answer.text()
    assert 'id="form-error"' in page and "photos" in page and 'id="report-form"' in page
    with Session(engine) as session:
        request = session.get(DispatchRequest, request_id)
        assert request is not None and request.state == "on_site"


async def test_a_frame_change_is_read_alone_within_the_boards_scope(client: Any, world: World, engine: Any) -> None:
    add_staff(engine, world, "disp.chuncheon", Role.DISPATCHER, "CHUNCHEON")
    with_passwords(engine)
    headers = bearer_headers(engine, world)
    request_id = await _open(client, headers["disp.gangnam"])
    change = f"/console/dispatch/live/change?request={request_id}&surveyor=surv.kim"
    await console_login(client, "disp.gangnam")
    opened = await (await client.get(change)).text()
    assert f'id="assign-{request_id}-surv.kim"' in opened  # an open request's row comes with its candidates

    answer = await client.post(
        f"/api/v1/dispatches/{request_id}/assign", json={"username": "surv.kim"}, headers=headers["disp.gangnam"]
    )
    assert answer.status == 200, await answer.text()
    text = await (await client.get(change)).text()
    assert f'<tr id="request-{request_id}"' in text and 'data-state="assigned"' in text
    assert f'id="marker-request-{request_id}"' in text and 'id="marker-surveyor-surv.kim"' in text
    assert '<tr id="surveyor-surv.kim"' in text and "1 / " in text  # the surveyor's load counts the assignment
    assert 'id="history-' in text and 'data-gone=""' in text
    assert "<table id=" not in text  # the row alone, not the panels

    # Another province's board learns nothing of it, nor of the surveyor.
    client.session.cookie_jar.clear()
    await console_login(client, "disp.chuncheon")
    elsewhere = await (await client.get(change)).text()
    assert f'data-gone="request-{request_id} marker-request-{request_id}"' in elsewhere
    assert "surv.kim" not in elsewhere and "<tr" not in elsewhere

    # A closed request leaves the boards.
    with Session(engine) as session:
        request = session.get(DispatchRequest, request_id)
        assert request is not None
        request.state = "cancelled"
        session.add(request)
        session.commit()
    client.session.cookie_jar.clear()
    await console_login(client, "disp.gangnam")
    closed = await (await client.get(f"/console/dispatch/live/change?request={request_id}")).text()
    assert f'data-gone="request-{request_id} marker-request-{request_id}"' in closed and "<tr" not in closed
