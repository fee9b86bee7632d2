"""Console sign-in (password, lockout, CSRF, logout), the review workflow, masking, tokens, corrections."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Recording
from crm_store.customers.tables import Customer
from crm_store.db import session_scope
from crm_store.org.tables import LoginLockout
from crm_store.review.tables import ClassificationCorrection, ReviewItem
from tests.review_helpers import BLACKLIST_REASON, CSRF, PASSWORD, World, console_sign_in


async def test_login_sets_a_strict_httponly_session_and_logout_ends_it(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    assert (await client.get("/console/queue", allow_redirects=False)).headers["Location"] == "/console/login"
    form = await (await client.get("/console/login")).text()
    token = CSRF.search(form)[1]  # type: ignore[index]
    answer = await client.post(
        "/console/login",
        data={"username": "operator.seocho", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status == 303
    cookie = answer.headers["Set-Cookie"] if "hotline_session" in answer.headers["Set-Cookie"] else ""
    set_cookies = " ".join(answer.headers.getall("Set-Cookie"))
    assert "hotline_session=" in set_cookies and "HttpOnly" in set_cookies and "SameSite=Strict" in set_cookies
    del cookie
    queue = await client.get("/console/queue")
    assert queue.status == 200 and "서초구지점" in await queue.text()
    assert queue.headers["X-Frame-Options"] == "DENY"
    csrf = CSRF.search(await queue.text())[1]  # type: ignore[index]
    assert (await client.post("/console/logout", data={"csrf_token": csrf}, allow_redirects=False)).status == 303
    assert (await client.get("/console/queue", allow_redirects=False)).status == 303


async def test_login_form_needs_its_csrf_cookie(world_client: tuple[World, Any]) -> None:
    _world, client = world_client
    answer = await client.post(
        "/console/login", data={"username": "operator.seocho", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert answer.status == 403


async def test_five_failures_lock_the_account(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    for _ in range(5):
        status, _page = await console_sign_in(client, "operator.seocho", "wrong-password")
        assert status == 401
    status, page = await console_sign_in(client, "operator.seocho")
    assert status == 403 and "잠겼" in page
    with session_scope(engine) as session:
        lockout = session.get(LoginLockout, world.staff["operator.seocho"]["id"])
        assert lockout is not None and lockout.locked_until is not None
    status, _page = await console_sign_in(client, "nobody", "whatever-password")
    assert status == 401


async def test_unsafe_methods_need_the_session_csrf_token(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    await console_sign_in(client, "operator.seocho")
    item = world.items["inside"]
    assert (await client.post(f"/console/items/{item}/take", data={})).status == 403
    assert (await client.post(f"/console/items/{item}/take", data={"csrf_token": "nope"})).status == 403
    # The JSON API accepts the session too, but then unsafe methods need the X-CSRF-Token header.
    assert (await client.get("/api/v1/review-items")).status == 200
    assert (await client.post(f"/api/v1/review-items/{item}/take")).status == 403


async def test_review_take_correct_apply_forward(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    _status, page = await console_sign_in(client, "operator.seocho")
    assert world.calls["inside"] in page and world.calls["outside"] not in page
    csrf = CSRF.search(page)[1]  # type: ignore[index]
    item = world.items["inside"]
    taken = await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    assert taken.status == 200 and "처리 중" in await taken.text()
    # No two operators work one item.
    answer = await client.post(f"/api/v1/review-items/{item}/take", headers=world.auth("center_manager.seocho"))
    assert answer.status == 409
    page = await client.post(
        f"/console/items/{item}/classification",
        data={"csrf_token": csrf, "type": "complaint", "topic": "complaint.staff_attitude", "entities": "place: 서초"},
    )
    assert page.status == 200 and 'id="call-topic">직원 응대 불만<' in await page.text()  # by its Korean name
    page = await client.post(
        f"/console/items/{item}/changes/0",
        data={"csrf_token": csrf, "decision": "apply", "value": "서울시 서초구 반포대로 2"},
    )
    assert page.status == 200
    with session_scope(engine) as session:
        customer = session.get(Customer, world.customers["inside"])
        assert customer is not None and (customer.profile or {}).get("address") == "서울시 서초구 반포대로 2"
        correction = session.exec(select(ClassificationCorrection)).one()
        assert correction.changed and correction.corrected["topic"] == "complaint.staff_attitude"
    answer = await client.post(
        f"/console/items/{item}/forward", data={"csrf_token": csrf, "note": "직원 응대 불만: 시 센터 확인 필요"}
    )
    assert answer.status == 200 and world.calls["inside"] not in await answer.text()
    with session_scope(engine) as session:
        moved = session.get(ReviewItem, item)
        assert moved is not None and moved.org_unit_id == world.units["SEOUL-GANGNAM"] and moved.state == "open"
        reads = session.exec(select(AuditEntry).where(AuditEntry.call_sid == world.calls["inside"])).all()
        assert {r.username for r in reads} == {"operator.seocho"}
    exported = await client.get("/api/v1/corrections", headers=world.auth("admin.hq"))
    rows = (await exported.json())["items"]
    assert rows[0]["topic"] == "complaint.staff_attitude" and rows[0]["text"]
    assert (await client.get("/api/v1/corrections", headers=world.auth("operator.seocho"))).status == 403


async def test_console_errors_are_html_pages_and_api_errors_stay_json(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    _status, page = await console_sign_in(client, "operator.seocho")
    csrf = CSRF.search(page)[1]  # type: ignore[index]
    item, outside = world.items["inside"], world.items["outside"]
    # Another province's item: a 404 page that says nothing about the item.
    answer = await client.get(f"/console/items/{outside}")
    text = await answer.text()
    assert answer.status == 404 and answer.content_type == "text/html"
    assert 'id="error"' in text and "검토 대기열로" in text and world.calls["outside"] not in text
    assert answer.headers["X-Frame-Options"] == "DENY"
    # Forwarding without a note: a 422 page naming the field's problem.
    assert (await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})).status == 200
    answer = await client.post(f"/console/items/{item}/forward", data={"csrf_token": csrf, "note": " "})
    assert answer.status == 422 and answer.content_type == "text/html"
    assert "note: say why it goes up" in await answer.text()
    # Taking an item that is no longer open: a 409 page, not a JSON body in the browser.
    answer = await client.post(f"/console/items/{item}/take", data={"csrf_token": csrf})
    assert answer.status == 409 and answer.content_type == "text/html"
    assert "다른 담당자가 먼저 맡았거나" in await answer.text()
    # The API keeps its JSON errors.
    answer = await client.get(f"/api/v1/customers/{world.customers['outside']}", headers=world.auth("operator.seocho"))
    assert answer.status == 404 and answer.content_type == "application/json"


async def test_fields_are_masked_below_their_grade(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    cid = world.customers["inside"]
    low = await (await client.get(f"/api/v1/customers/{cid}", headers=world.auth("operator.seocho"))).json()
    high = await (await client.get(f"/api/v1/customers/{cid}", headers=world.auth("operator.seoul"))).json()
    assert low["registration_number"] == "●●●●" and "registration_number" in low["masked_fields"]
    assert high["registration_number"].startswith("880315-") and high["masked_fields"] == []
    assert low["blacklisted"] and all(h["reason"] == "●●●●" for h in low["blacklist"])
    assert BLACKLIST_REASON in {h["reason"] for h in high["blacklist"]}


async def test_tokens_are_listed_and_revoked(world_client: tuple[World, Any]) -> None:
    world, client = world_client
    mine = await (await client.get("/api/v1/tokens", headers=world.auth("agent.seocho"))).json()
    assert [t["staff_id"] for t in mine["items"]] == [world.staff["agent.seocho"]["id"]]
    other = (await (await client.get("/api/v1/tokens", headers=world.auth("agent.hq"))).json())["items"][0]["id"]
    answer = await client.delete(f"/api/v1/tokens/{other}", headers=world.auth("agent.seocho"))
    assert answer.status == 404
    answer = await client.delete(f"/api/v1/tokens/{mine['items'][0]['id']}", headers=world.auth("agent.seocho"))
    assert answer.status == 200 and (await answer.json())["revoked_at"]
    # Revoked through this gateway: refused at once, not after the token cache's few seconds.
    answer = await client.get("/api/v1/tokens", headers=world.auth("agent.seocho"))
    assert answer.status == 401


async def test_the_recording_is_served_in_byte_ranges_and_audited_once_per_listening(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    audio = bytes(range(256)) * 40  # 10,240 bytes standing in for a WAV file
    with session_scope(engine) as session:
        session.add(
            Recording(
                call_sid=world.calls["inside"], recording_sid="RE" + "0" * 32, content_type="audio/wav",
                audio=audio, size=len(audio),
            )
        )  # fmt: skip
    await console_sign_in(client, "operator.seocho")
    path = f"/console/items/{world.items['inside']}/recording"

    def reads() -> int:
        with session_scope(engine) as session:
            return len(
                session.exec(
                    select(AuditEntry).where(
                        AuditEntry.call_sid == world.calls["inside"], AuditEntry.purpose == "review"
                    )
                ).all()
            )

    whole = await client.get(path)
    assert whole.status == 200 and await whole.read() == audio and whole.headers["Accept-Ranges"] == "bytes"
    assert reads() == 1
    first = await client.get(path, headers={"Range": "bytes=0-1023"})
    assert first.status == 206 and first.headers["Content-Range"] == f"bytes 0-1023/{len(audio)}"
    assert await first.read() == audio[:1024]
    assert reads() == 2  # a new listening from the start
    seek = await client.get(path, headers={"Range": "bytes=5000-"})
    assert seek.status == 206 and await seek.read() == audio[5000:]
    assert seek.headers["Content-Range"] == f"bytes 5000-{len(audio) - 1}/{len(audio)}"
    assert reads() == 2  # seeking within it is not another read
    beyond = await client.get(path, headers={"Range": f"bytes={len(audio)}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{len(audio)}"
    # Out of scope: nothing, in ranges or whole.
    await console_sign_in(client, "operator.haeundae")
    assert (await client.get(path, headers={"Range": "bytes=0-10"})).status == 404
