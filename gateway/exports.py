"""Exports shared by the reports and the lists: a document of sections (a title, a table, optionally a bar chart of
the table's first two columns) written as XLSX (openpyxl, one sheet per section with a native bar chart), PDF
(fpdf2 with a Korean TrueType font, each chart drawn above its table) or CSV (UTF-8 with a byte-order mark, so
Excel reads Korean), and a bar chart as SVG for the console.

Charts use the Okabe-Ito palette (told apart with every common colour-vision deficiency), Korean labels, and always
come with the table of their figures under them. Everything here is CPU work on bytes in memory: a handler calls it
through `run_in_executor` (`render_off_loop`), never on the event loop."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from html import escape
from pathlib import Path
from typing import TypeVar

# Okabe & Ito (2008), "Color Universal Design": safe for protanopia, deuteranopia and tritanopia.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Debian's fonts-nanum (`.ci/run` installs it): a Korean font fpdf2 embeds in the PDF.
KOREAN_FONTS = (
    (
        Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
        Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"),
    ),
    (
        Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"),
        Path("/usr/share/fonts/truetype/nanum/NanumBarunGothicBold.ttf"),
    ),
)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"
CSV_TYPE = "text/csv; charset=utf-8"
Cell = str | int | float | None
# fontTools says at length which tables of the font it does not subset: noise in every export.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    """A part of a document: its title, a table (headers and rows) and whether the table's first column (labels)
    and second column (numbers) are also drawn as a bar chart above it."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    chart: bool = False
    note: str = ""


@dataclass(frozen=True)
class Document:
    """What is exported: a title, a line under it (unit, month, when generated) and the sections in order."""

    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)


class FontMissing(RuntimeError):
    """No Korean font for the PDF (install Debian's fonts-nanum)."""


def korean_font() -> tuple[Path, Path]:
    """The first Korean TrueType font installed, regular and bold."""
    for regular, bold in KOREAN_FONTS:
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise FontMissing("no Korean font for PDF exports: install fonts-nanum")


def _bars(section: Section) -> list[tuple[str, float]]:
    """The chart's bars: (label, value) of the rows whose second column is a number."""
    return [
        (str(row[0]), float(row[1]))
        for row in section.rows
        if len(row) > 1 and isinstance(row[1], int | float) and not isinstance(row[1], bool)
    ]


# -- CSV ------------------------------------------------------------------------------------------------------------


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """A table as CSV in UTF-8 with a byte-order mark (Excel then reads Korean), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


# -- XLSX -----------------------------------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, taken: set[str]) -> str:
    """An Excel sheet name: no []:*?/\\, at most 31 characters, unique in the workbook."""
    base = " ".join(_SHEET_FORBIDDEN.sub(" ", title).split())[:28] or "표"
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def xlsx_bytes(document: Document) -> bytes:
    """The document as a workbook: a cover sheet (title, subtitle, contents), then one sheet per section with its
    table from the first row and, for a charted section, a native bar chart beside it."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    cover = book.active
    assert cover is not None
    taken: set[str] = set()
    cover.title = _sheet_title("개요", taken)
    cover.append([document.title])
    cover["A1"].font = Font(bold=True, size=14)
    cover.append([document.subtitle])
    cover.append([])
    for section in document.sections:
        cover.append([section.title])
    for section in document.sections:
        sheet = book.create_sheet(_sheet_title(section.title, taken))
        sheet.append(list(section.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append(list(row))
        if section.note:
            sheet.append([])
            sheet.append([section.note])
        for index, header in enumerate(section.headers):
            width = max([len(str(header)), *(len(str(r[index])) for r in section.rows if index < len(r))], default=8)
            sheet.column_dimensions[chr(ord("A") + index)].width = min(60, width * 2 + 2)
        if section.chart and section.rows:
            chart = BarChart()
            chart.title = section.title
            chart.legend = None
            data = Reference(sheet, min_col=2, min_row=1, max_row=len(section.rows) + 1)
            labels = Reference(sheet, min_col=1, min_row=2, max_row=len(section.rows) + 1)
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(labels)
            chart.series[0].graphicalProperties.solidFill = OKABE_ITO[0][1:]
            sheet.add_chart(chart, chr(ord("A") + len(section.headers) + 1) + "2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- PDF ------------------------------------------------------------------------------------------------------------

_PAGE_WIDTH = 180.0  # mm inside A4's margins


def _pdf_chart(pdf: object, bars: list[tuple[str, float]]) -> None:
    """Horizontal bars, one line each: label, bar (Okabe-Ito blue), value."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    top = max((value for _, value in bars), default=0) or 1
    label_width, value_width = 50.0, 22.0
    room = _PAGE_WIDTH - label_width - value_width
    red, green, blue = (int(OKABE_ITO[0][i : i + 2], 16) for i in (1, 3, 5))
    pdf.set_font_size(8)
    for label, value in bars:
        if pdf.will_page_break(5):
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        pdf.set_xy(x, y)
        pdf.cell(label_width, 5, label[:28], align="R")
        pdf.set_fill_color(red, green, blue)
        pdf.rect(x + label_width + 1, y + 0.8, max(0.3, room * value / top), 3.4, style="F")
        pdf.set_xy(x + label_width + room + 2, y)
        pdf.cell(value_width, 5, f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}")
        pdf.set_y(y + 5)
    pdf.ln(2)


def _pdf_table(pdf: object, section: Section) -> None:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    assert isinstance(pdf, FPDF)
    pdf.set_font_size(8)
    pdf.set_fill_color(255, 255, 255)  # the chart's bars leave their colour set
    with pdf.table(
        col_widths=tuple(1 for _ in section.headers),
        text_align="LEFT",
        line_height=5,
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
    ) as table:
        table.row([str(h) for h in section.headers])
        for row in section.rows:
            table.row(["" if cell is None else f"{cell:,}" if isinstance(cell, int) else str(cell) for cell in row])


def pdf_bytes(document: Document) -> bytes:
    """The document as an A4 PDF in a Korean font: title and subtitle, then each section's title, its bar chart (if
    charted) and its table."""
    from fpdf import FPDF

    regular, bold = korean_font()
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("korean", "", str(regular))
    pdf.add_font("korean", "B", str(bold))
    pdf.set_title(document.title)
    pdf.add_page()
    pdf.set_font("korean", size=16)
    pdf.multi_cell(_PAGE_WIDTH, 9, document.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(9)
    pdf.multi_cell(_PAGE_WIDTH, 5, document.subtitle, new_x="LMARGIN", new_y="NEXT")
    for section in document.sections:
        if pdf.will_page_break(30):
            pdf.add_page()
        pdf.ln(4)
        pdf.set_font_size(12)
        pdf.multi_cell(_PAGE_WIDTH, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        if section.chart:
            _pdf_chart(pdf, _bars(section))
        if section.rows:
            _pdf_table(pdf, section)
        else:
            pdf.set_font_size(8)
            pdf.multi_cell(_PAGE_WIDTH, 5, "해당 없음", new_x="LMARGIN", new_y="NEXT")
        if section.note:
            pdf.set_font_size(7)
            pdf.multi_cell(_PAGE_WIDTH, 4, section.note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# -- SVG (the console) -----------------------------------------------------------------------------------------------


def svg_bar_chart(section: Section, *, width: int = 640) -> str:
    """The section's bars as an inline SVG of horizontal bars (label, bar, value), with a title for screen readers;
    escaped text, presentation attributes only (the console's CSP allows no inline style)."""
    bars = _bars(section)
    row, label_width, value_width = 22, 200, 70
    room = width - label_width - value_width
    top = max((value for _, value in bars), default=0) or 1
    height = row * max(1, len(bars)) + 8
    parts = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="13"><title>{escape(section.title)}</title>'
    ]
    for i, (label, value) in enumerate(bars):
        y = 4 + i * row
        length = max(1.0, room * value / top)
        shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{OKABE_ITO[0]}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 15}">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


async def render_off_loop(render: Callable[[T], bytes], document: T) -> bytes:
    """Run an export in the default executor: PDF and XLSX building is seconds of CPU for a large list."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(render, document))
