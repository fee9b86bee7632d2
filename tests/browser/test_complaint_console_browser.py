"""The complaint console in real headless Chromium: an operator opens the complaint queue from the navigation, opens a
complaint, is refused a verification without its facts (the error on the page, the input kept), gives the
acknowledgement and the verification, and reads both in the dossier in Korean; then registers it, transfers it to the
branch's 보상부 (a department of the unit, chosen by name), coordinates with a sub-task of their own, marks the
sub-task done, and finds the complaint in the queue of that department."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from crm_store.complaints.coordination import DepartmentCreate, add_department
from crm_store.complaints.tables import Complaint, ComplaintSubtask
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from crm_store.types import utcnow
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.complaint_helpers import COMPLAINT_CODES, open_for
from tests.review_helpers import World, sign_in


async def test_an_operator_acknowledges_and_verifies_a_complaint(
    world_client: tuple[World, Any], engine: Any, browser: Any
) -> None:
    world, client = world_client
    seocho = world.units["SEOUL-GANGNAM-SEOCHO"]
    with session_scope(engine) as session:
        claims = DepartmentCreate(org_unit_id=seocho, code="claims", name="보상부")
        add_department(session, CommandLine(username="root"), claims, now=utcnow())
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

    # Registration, then the transfer to the branch's 보상부 with its reason.
    registration = page.locator("#step-registration")
    await registration.locator("select[name=category]").select_option("claims_payment")
    await registration.locator("select[name=severity]").select_option("high")
    await registration.locator("button.take-step").click()
    await page.wait_for_selector("li.dossier-entry[data-action=registration]")
    transfer = page.locator("#step-transfer")
    await transfer.locator("select[name=to_unit_id]").select_option(str(seocho))
    await transfer.locator("select[name=department]").select_option(label="보상부")
    await transfer.locator("input[name=reason]").fill("보상 지급 지연은 보상부 소관")
    await transfer.locator("button.take-step").click()
    await page.wait_for_selector("li.dossier-entry[data-action=transfer], #form-error")
    assert await page.locator("#form-error").count() == 0, await page.inner_text("#form-error")
    assert await page.inner_text("#complaint-department") == "보상부"

    # Coordination: the department agrees and takes on a sub-task; handling waits for it.
    coordination = page.locator("#step-coordination")
    await coordination.locator("select[name=department]").select_option(label="보상부")
    await coordination.locator("textarea[name=comment]").fill("결재 후 지급 가능")
    await coordination.locator("select[name=agreed]").select_option("true")
    await coordination.locator("textarea[name=subtasks]").fill("operator.seocho: 지급 결재 요청")
    await coordination.locator("button.take-step").click()
    await page.wait_for_selector("#subtasks tr.subtask, #form-error")
    assert await page.locator("#form-error").count() == 0, await page.inner_text("#form-error")
    assert await page.inner_text("#subtasks .subtask-state") == "미완료"
    await page.click("#subtasks button.mark-subtask")
    await page.wait_for_selector("#subtasks tr.subtask.done")
    assert "완료" in await page.inner_text("#subtasks .subtask-state")
    dossier = await page.inner_text("#dossier")
    assert "이관" in dossier and "보상 지급 지연은 보상부 소관" in dossier and "조정" in dossier
    assert "세부 업무 완료" in dossier and "지급 결재 요청" in dossier
    text = await page.inner_text("main")
    assert not COMPLAINT_CODES.search(text) and not RAW_CODE.search(text), text

    # The queue of that department lists it.
    await page.goto(f"{base}/console/complaints")
    await page.select_option("#filter-department", label="보상부")
    await page.click("#apply-complaint-filters")
    await page.wait_for_url("**department=claims**")
    assert await page.locator("tr.complaint").count() == 1
    assert await page.inner_text("tr.complaint td.department") == "보상부"
    with session_scope(engine) as session:
        stored = session.get(Complaint, inside)
        assert stored is not None and (stored.state, stored.department) == ("coordination", "claims")
        task = session.exec(select(ComplaintSubtask)).one()
        assert task.done_by == "operator.seocho" and task.done_at is not None
