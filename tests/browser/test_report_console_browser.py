"""The monthly reports in real headless Chromium: a head-office executive and a county center manager each open the
reports from the navigation, follow the notice to their own unit's report, see its charts with Korean labels and the
hot spot found in the data (a topic that rose), and download it as PDF and XLSX; the files hold the report."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pypdf

from tests.report_helpers import rising_topic
from tests.review_helpers import World, sign_in

PEOPLE = (("executive.hq", "본사"), ("center_manager.seocho", "서초구지점"))


async def test_an_executive_and_a_county_center_manager_open_and_download_last_month_s_report(
    world_client: tuple[World, Any], engine: Any, browser: Any, tmp_path: Path
) -> None:
    world, client = world_client
    rising_topic(engine, world.units)
    base = str(client.make_url("")).rstrip("/")
    for username, unit_name in PEOPLE:
        page = await (await browser.new_context(accept_downloads=True)).new_page()
        await sign_in(page, base, username)
        await page.click("#reports-link")
        await page.wait_for_url(f"{base}/console/reports")
        assert "2026-09 월간 고객센터 보고서" in await page.inner_text("#report-notice")
        await page.click("#notice-link")
        await page.wait_for_selector("#downloads")
        assert unit_name in await page.title()
        assert await page.locator("svg.chart").count() >= 5
        assert await page.locator("section.report-section table").count() >= 5
        main = await page.inner_text("main")
        assert "상담 핫스팟" in main and "보상 처리 지연" in main and "complaint." not in main
        # a chart is drawn with its bars, the figures' table under it
        first_chart = page.locator("section.report-section").nth(1)
        assert await first_chart.locator("svg rect").count() >= 2 and await first_chart.locator("table").count() == 1

        async with page.expect_download() as pdf_download:
            await page.click("#download-pdf")
        pdf_path = tmp_path / f"{username}.pdf"
        await (await pdf_download.value).save_as(pdf_path)
        text = "".join(p.extract_text() for p in pypdf.PdfReader(pdf_path).pages)
        assert f"2026-09 월간 고객센터 보고서: {unit_name}" in text and "보상 처리 지연" in text

        async with page.expect_download() as xlsx_download:
            await page.click("#download-xlsx")
        xlsx_path = tmp_path / f"{username}.xlsx"
        await (await xlsx_download.value).save_as(xlsx_path)
        book = openpyxl.load_workbook(io.BytesIO(xlsx_path.read_bytes()))
        spots = list(book["상담 핫스팟 (유의한 비중 상승)"].iter_rows(min_row=2, max_row=2, values_only=True))
        assert spots[0][0] == "보상 처리 지연"
        await page.context.close()
