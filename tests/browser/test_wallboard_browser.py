"""The wallboard in real headless Chromium: an administrator gives an agent a queue and an endpoint on the staff
member page (refused first for an endpoint that is none, the error on the page); the agent's center manager opens
the wallboard from the navigation, sees the queue's counts in Korean, and a call that starts waiting appears on the
board without a reload (pushed over the console's WebSocket)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select, update

from crm_store.desk.agent_tables import DeskAgent
from crm_store.desk.tables import DeskQueue, WaitingCall
from crm_store.types import utcnow
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.desk_helpers import install_default_menu
from tests.review_helpers import World, sign_in

WAITING = "#wallboard tr[data-queue=accident] [data-field=waiting]"


async def test_a_center_manager_watches_a_call_start_waiting(
    world_client: tuple[World, Any], engine: Any, browser: Any
) -> None:
    world, client = world_client
    install_default_menu(engine)
    base = str(client.make_url("")).rstrip("/")
    agent_id = world.staff["agent.seocho"]["id"]

    admin = await (await browser.new_context()).new_page()
    await sign_in(admin, base, "admin.hq")
    await admin.goto(f"{base}/console/admin/staff/{agent_id}")
    await admin.check("#desk-skill-accident")
    await admin.fill("#desk-endpoint", "nowhere")
    await admin.click("#save-desk")
    await admin.wait_for_selector("#form-error")
    assert "endpoint" in await admin.inner_text("#form-error")
    await admin.check("#desk-skill-accident")
    await admin.fill("#desk-endpoint", "client:agent.seocho")
    await admin.click("#save-desk")
    await admin.wait_for_url(f"{base}/console/admin/staff/{agent_id}")
    assert await admin.is_checked("#desk-skill-accident")
    assert "상담원 업무 설정 변경" in await admin.inner_text("#staff-history")
    assert "사고 접수" in await admin.inner_text("#staff-history")
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(DeskAgent).where(col(DeskAgent.staff_id) == agent_id).values(state="available")
        )
        session.commit()

    page = await (await browser.new_context()).new_page()
    await sign_in(page, base, "center_manager.gangnam")
    await page.click("#agents-link")
    await page.wait_for_url(f"{base}/console/agents")
    assert await page.is_checked(f"#agent-{agent_id}-skill-accident")
    assert await page.input_value(f"#agent-{agent_id}-endpoint") == "client:agent.seocho"
    await page.click("#wallboard-link")
    await page.wait_for_url(f"{base}/console/wallboard")
    row = page.locator("#wallboard tr[data-queue=accident]")
    assert await page.locator("#wallboard tbody tr").count() == 1  # only the queue their agent serves
    assert "사고 접수" in await row.inner_text()
    assert await page.inner_text(WAITING) == "0"
    assert await row.locator("[data-field='agents.available']").inner_text() == "1"
    assert "한국 시간" in await page.inner_text("main")
    text = await page.inner_text("main")
    assert not RAW_CODE.search(text), text
    await page.wait_for_selector("#wallboard-live:text('실시간')")

    # A caller starts waiting: the board shows it without a reload.
    await page.evaluate("window.notReloaded = true")
    with Session(engine) as session:
        queue = session.exec(select(DeskQueue).where(col(DeskQueue.name) == "accident")).one()
        assert queue.id is not None
        session.add(WaitingCall(call_sid="CA" + "7" * 32, queue_id=queue.id, state="waiting", enqueued_at=utcnow()))
        session.commit()
    await page.wait_for_selector(f"{WAITING}:text-is('1')")
    assert await page.evaluate("window.notReloaded") is True
    assert "busy" in (await page.get_attribute(WAITING, "class") or "")
