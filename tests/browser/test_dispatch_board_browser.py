"""The dispatch board and the surveyor's page in real headless Chromium: a caller's accident report reaches the
boards of the dispatchers of its scope (not the others'), one dispatcher assigns the suggested surveyor in one click
and the other dispatcher's open board shows it at once (a frame on its WebSocket, no reload); the surveyor, told by a
text message with the link, accepts on a phone-sized page, goes, arrives, files the survey report with a photo and the
customer's signature drawn on the screen, and the request's page shows the report attached to the customer's claim."""

from __future__ import annotations

import struct
import zlib
from datetime import date
from typing import Any

from sqlmodel import Session, select

from crm_store.customers.tables import Claim, Policy
from crm_store.db import session_scope
from crm_store.dispatch.tables import DispatchRequest, SurveyorProfile, SurveyPhoto, SurveyReport
from crm_store.org.tables import Role
from gateway.app import create_app
from gateway.desk import CLOCK
from gateway.twilio_stand_in import TwilioStandIn
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.dispatch_api_helpers import NOW, add_staff, bearer_headers, deliver_messages, with_passwords
from tests.dispatch_helpers import SEOLLEUNG, YEOKSAM, add_surveyor, build_world
from tests.review_helpers import sign_in
from workers.settings import Settings

SURVEYOR_PHONE = "+821055550001"
CALLER_PHONE = "+821077770002"


def tiny_png() -> bytes:
    """A 2x2 red PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def arrange(engine: Any) -> tuple[Any, str]:
    """The dispatch world with passwords, a surveyor near the scene, another province's dispatcher and an open claim of
    the quality customer; the claim's number."""
    world = build_world(engine)
    add_surveyor(engine, world, "surv.kim", at=YEOKSAM)
    add_staff(engine, world, "disp.chuncheon", Role.DISPATCHER, "CHUNCHEON")
    with_passwords(engine)
    with Session(engine) as session:
        profile = session.get(SurveyorProfile, world.staff["surv.kim"].id)
        assert profile is not None
        profile.phone = SURVEYOR_PHONE
        session.add(profile)
        policy = session.exec(select(Policy).where(Policy.policy_number == "AUTO-quality")).one()
        claim = Claim(customer_id=policy.customer_id, policy_id=policy.id, claim_number="CL-2026-SURVEY1",
                      occurred_on=date(2026, 12, 6), status="open")  # fmt: skip
        session.add(claim)
        session.commit()
    return world, "CL-2026-SURVEY1"


async def test_board_assign_accept_arrive_and_report(
    aiohttp_client: Any, settings: Settings, engine: Any, browser: Any
) -> None:
    world, claim_number = arrange(engine)
    twilio = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
    await twilio.start()
    try:
        app = create_app(settings.model_copy(update={"twilio_api_base": twilio.base_url}), embedded_worker=False)
        app[CLOCK] = lambda: NOW
        client = await aiohttp_client(app)
        base = str(client.make_url("")).rstrip("/")
        headers = bearer_headers(engine, world)

        # The agent's accident report during the call opens the request.
        body = {
            "kind": "survey",
            "location": {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "서울 강남구 선릉로 428"},
            "customer_id": world.customers["quality"],
            "contact_phone": CALLER_PHONE,
            "what_happened": "교차로 추돌 사고",
        }
        answer = await client.post("/api/v1/dispatches", json=body, headers=headers["disp.gangnam"])
        assert answer.status == 201, await answer.text()
        request_id = (await answer.json())["id"]
        row = f"#request-{request_id}"

        boards = {}
        for username in ("disp.gangnam", "cm.seoul", "disp.chuncheon"):
            page = await (await browser.new_context()).new_page()
            await sign_in(page, base, username)
            await page.click("#dispatch-link")
            await page.wait_for_selector("#live-state[data-connected='1']")
            boards[username] = page
        dispatcher, other, outsider = boards["disp.gangnam"], boards["cm.seoul"], boards["disp.chuncheon"]
        assert await outsider.locator(row).count() == 0
        assert await other.inner_text(f"{row} td.state") == "배정 대기"
        suggestion = dispatcher.locator(f"{row} form.candidate").first
        assert "surv.kim" in await suggestion.inner_html()
        assert await suggestion.locator("ul.reasons li").count() >= 1
        assert await dispatcher.locator("#korea-map path.province").count() == 17
        assert await dispatcher.locator("#korea-map rect.marker.surveyor").count() == 1

        # One click; the other dispatcher's open board follows through its socket, its request's row and the
        # surveyor's put in place (the panels are not read again whole: what the page set on them stays).
        await other.evaluate("document.getElementById('surveyors').dataset.kept = 'yes'")
        await dispatcher.click(f"#assign-{request_id}-surv\\.kim")
        await dispatcher.wait_for_selector(f"{row}[data-state='assigned']")
        await other.wait_for_selector(f"{row}[data-state='assigned']")
        assert await other.evaluate("window.boardFrames") >= 1
        assert await other.get_attribute("#surveyors", "data-kept") == "yes"
        assert "1 / " in await other.inner_text("#surveyor-surv\\.kim")
        assert await outsider.evaluate("window.boardFrames") == 0
        await dispatcher.wait_for_selector("#history")  # the page the assigning dispatcher is sent back to
        assert "surv.kim" in await dispatcher.inner_text("#history")
        assert await other.locator("#korea-map path.province").count() == 17  # kept when the panels are read again
        text = await other.inner_text("main")
        assert not RAW_CODE.search(text), text

        # The surveyor's phone: the link of the text message, accept, go, arrive, report.
        await deliver_messages(engine, settings, twilio.base_url)  # what the workers do
        told = [m for m in twilio.messages if m["to"] == SURVEYOR_PHONE]
        assert told and f"/console/field/{request_id}" in told[0]["body"]
        phone = await (await browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)).new_page()
        await sign_in(phone, base, "surv.kim")
        await phone.goto(f"{base}/console/field/{request_id}")
        assert "map.kakao.com/link/to/" in (await phone.get_attribute("#navigate", "href") or "")
        await phone.click("#accept")
        await phone.wait_for_selector("#step-en_route")
        await other.wait_for_selector(f"{row}[data-state='accepted']")
        await phone.click("#step-en_route")
        await phone.click("#step-on_site")
        await phone.wait_for_selector("#report-form")
        assert await phone.inner_text("#field-state") == "현장 도착"
        await phone.fill("#damage", "앞 범퍼 파손, 전조등 깨짐")
        await phone.fill("#liability", "30")
        await phone.fill("#estimate", "1200000")
        await phone.set_input_files("#photos", files=[{"name": "front.png", "mimeType": "image/png",
                                                        "buffer": tiny_png()}])  # fmt: skip
        box = await phone.locator("#signature-pad").bounding_box()
        assert box is not None
        await phone.mouse.move(box["x"] + 20, box["y"] + 40)
        await phone.mouse.down()
        await phone.mouse.move(box["x"] + 200, box["y"] + 120, steps=8)
        await phone.mouse.up()
        await phone.click("#submit-report")
        await phone.wait_for_selector("#survey-report")
        assert claim_number in await phone.inner_text("#report-claim")
        assert await phone.inner_text("#report-claim-state") == "(진행 중 · 손해사정 보고 완료)"
        assert await phone.inner_text("#field-state") == "완료"

        # The request's page shows the report on the claim, its photo and signature served.
        await other.goto(f"{base}/console/dispatch/{request_id}")
        assert await other.inner_text("#report-claim") == claim_number
        assert await other.inner_text("#report-claim-state") == "진행 중 · 손해사정 보고 완료"
        assert "앞 범퍼 파손" in await other.inner_text("#report-damage")
        signature = await other.request.get(f"{base}/console/dispatch/{request_id}/signature")
        assert signature.ok and (await signature.body()).startswith(b"\x89PNG")
        api_report = await client.get(f"/api/v1/dispatches/{request_id}/report", headers=headers["cm.seoul"])
        assert api_report.status == 200, await api_report.text()
        filed = await api_report.json()
        assert (filed["claim_number"], filed["liability_percent"], len(filed["photo_ids"])) == (claim_number, 30, 1)
        await deliver_messages(engine, settings, twilio.base_url)
        customer = [m for m in twilio.messages if m["to"] == CALLER_PHONE]
        assert customer and "도착 예정" in customer[0]["body"]
    finally:
        await twilio.stop()

    with session_scope(engine) as session:
        request = session.get(DispatchRequest, request_id)
        assert request is not None and request.state == "done"
        report = session.exec(select(SurveyReport).where(SurveyReport.request_id == request_id)).one()
        claim = session.exec(select(Claim).where(Claim.claim_number == claim_number)).one()
        assert report.claim_id == claim.id and report.liability_percent == 30 and report.signature_png
        assert len(session.exec(select(SurveyPhoto).where(SurveyPhoto.report_id == report.id)).all()) == 1
