"""The shared export module: CSV with a byte-order mark for Excel, a workbook with a sheet per section (Excel's sheet
name rules kept) and a native chart, a PDF in a Korean font whose text reads back, and SVG charts in the Okabe-Ito
palette with every text escaped."""

from __future__ import annotations

import csv
import io

import openpyxl
import pypdf

from gateway.exports import OKABE_ITO, Document, Section, csv_bytes, pdf_bytes, svg_bar_chart, xlsx_bytes

DOCUMENT = Document(
    "2026-09 월간 고객센터 보고서: 서울지역본부",
    "서울지역본부 (지역본부) 및 하위 조직",
    [
        Section("유형별 통화", ("유형", "통화 수"), [("상담·문의", 80), ("불만·민원", 20)], chart=True),
        Section("손해율: 등급/종목 [전체]", ("구분", "손해율"), [("우량", "41.0%")], note="지급 ÷ 보험료"),
        Section("유형별 통화", ("유형", "통화 수"), []),
    ],
)


def test_csv_starts_with_a_byte_order_mark_and_reads_back() -> None:
    raw = csv_bytes(("이름", "메모"), [("김고객", 'a,"b"'), ("이고객", None)])
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [
        ["이름", "메모"], ["김고객", 'a,"b"'], ["이고객", ""]]  # fmt: skip


def test_the_workbook_has_a_cover_and_a_sheet_per_section_with_a_chart() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(DOCUMENT)))
    assert book.sheetnames == ["개요", "유형별 통화", "손해율 등급 종목 전체", "유형별 통화 2"]
    assert [c.value for c in book["개요"]["A"]][:2] == [DOCUMENT.title, DOCUMENT.subtitle]
    sheet = book["유형별 통화"]
    assert list(sheet.iter_rows(values_only=True)) == [("유형", "통화 수"), ("상담·문의", 80), ("불만·민원", 20)]
    assert len(sheet._charts) == 1  # openpyxl reads the charts back
    assert "지급 ÷ 보험료" in [row[0] for row in book["손해율 등급 종목 전체"].iter_rows(values_only=True)]


def test_the_pdf_is_in_a_korean_font_and_its_text_reads_back() -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(DOCUMENT)))
    text = "".join(page.extract_text() for page in reader.pages)
    for words in (DOCUMENT.title, "유형별 통화", "상담·문의", "불만·민원", "41.0%", "해당 없음"):
        assert words in text
    fonts = {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert any("Nanum" in font for font in fonts)


def test_the_svg_chart_escapes_labels_and_uses_the_palette() -> None:
    svg = svg_bar_chart(Section("<차트>", ("a", "b"), [("<script>", 3), ("보상 처리 지연", 1), ("합계", "n/a")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;차트&gt;" in svg
    assert svg.count("<rect") == 2 and f'fill="{OKABE_ITO[0]}"' in svg
