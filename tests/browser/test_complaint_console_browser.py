"""The complaint console in real headless Chromium: an operator opens the complaint queue from the navigation, opens a
complaint, is refused a verification without its facts (the error on the page, the input kept), gives the
acknowledgement and the verification, and reads both in the dossier in Korean."""

from __future__ import annotations

from typing import Any

from crm_store.complaints.tables import Complaint
from crm_store.db import session_scope
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.complaint_helpers import COMPLAINT_CODES, open_for
from tests.review_helpers import World, sign_in


async def test_an_operator_acknowledges_and_verifies_a_complaint(
    world_client: tuple[World, Any], engine: Any, browser: Any
) -> None:
    world, client = world_client
    inside, number = open_for(engine, world, "inside", call_sid=world.calls["inside"])
    foreign = open_for(engine, world, "outside")[1]
    base = str(client.make_url("")).rstrip("/")
    page = await (await browser.new_context()).new_page()
    await sign_in(page, base, "operator.seocho")

    await page.click("#complaints-link")
    await page.wait_for_url(f"{base}/console/complaints")
    rows = page.locator("tr.complaint")
    assert await rows.count() == 1 and foreign not in await page.content()
    assert "기한 초과" in await rows.first.locator("td.days-left").inner_text()
    await rows.first.locator("a").click()
    await page.wait_for_url(f"{base}/console/complaints/{inside}")
    assert number in await page.title()
    assert await page.inner_text("#complaint-state") == "접수"

    # Without its facts the verification is refused on the same page, the policy number kept.
    verification = page.locator("#step-verification")
    await verification.locator("input[name=policy_number]").fill("P-2026-77")
    await verification.locator("button.take-step").click()
    await page.wait_for_selector("#form-error")
    assert "확인된 사실" in await page.inner_text("#form-error")
    assert await page.locator("#step-verification input[name=policy_number]").input_value() == "P-2026-77"

    acknowledgement = page.locator("#step-acknowledgement")
    await acknowledgement.locator("input[name=handler_name]").fill("김상담")
    await acknowledgement.locator("input[name=handler_phone]").fill("02-1234-5678")
    await acknowledgement.locator("select[name=via]").select_option("sms")
    await acknowledgement.locator("button.take-step").click()
    await page.wait_for_selector("li.dossier-entry[data-action=acknowledgement]")
    assert await page.locator("#step-acknowledgement").count() == 0  # given once

    verification = page.locator("#step-verification")
    await verification.locator("textarea[name=facts]").fill("보상 담당자 부재로 3주 지연 확인")
    await verification.locator("button.take-step").click()
    await page.wait_for_selector("li.dossier-entry[data-action=verification]")
    assert await page.inner_text("#complaint-state") == "확인"
    dossier = await page.inner_text("#dossier")
    assert "접수 통지" in dossier and "김상담" in dossier and "문자" in dossier
    assert "보상 담당자 부재로 3주 지연 확인" in dossier and "operator.seocho" in dossier
    text = await page.inner_text("main")
    assert not COMPLAINT_CODES.search(text) and not RAW_CODE.search(text), text
    with session_scope(engine) as session:
        stored = session.get(Complaint, inside)
        assert stored is not None and stored.state == "verification" and stored.acknowledged_at is not None
