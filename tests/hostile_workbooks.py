"""A corpus of hostile and broken xlsx files for the importers' tests, built in memory from good workbooks."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

from competition import spreadsheets
from tests.unit.event_workbooks import good_sheets, workbook_bytes

ROOT = Path(__file__).resolve().parent.parent
SCHEME_FILE = ROOT / "fixtures" / "schemes" / "skill_23_mobile_robotics.xlsx"
MARKS_HEADER = ["Competitor", "Aspect", "Value", "Judge 1", "Judge 2", "Judge 3", "Reason"]
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
    )
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)
EXTERNAL_ENTITY = b'<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'


# --- good workbooks of each kind --------------------------------------------------------------------


def good_event() -> bytes:
    return workbook_bytes(good_sheets())


def good_scheme() -> bytes:
    return SCHEME_FILE.read_bytes()


def marks_bytes(rows: Iterable[list[Any]], header: list[str] = MARKS_HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Marks"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    return saved(book)


def good_marks() -> bytes:
    return marks_bytes([["C001", "A1.1", None, 2, 2, 3, None], ["C001", "A1.2", 1, None, None, None, None]])


def saved(book: openpyxl.Workbook) -> bytes:
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


# --- ways to spoil any workbook ----------------------------------------------------------------------


def rewritten(
    content: bytes, change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None
) -> bytes:
    """The workbook with each part passed through `change` (None keeps it), plus extra parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            data = source.read(part)
            target.writestr(part.filename, change(part.filename, data) or data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def first_sheet_part(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sorted(name for name in archive.namelist() if name.startswith("xl/worksheets/sheet"))[0]


def with_part(content: bytes, name: str, data: bytes) -> bytes:
    return rewritten(content, lambda part, _data: data if part == name else None)


def entity_bomb(content: bytes) -> bytes:
    """Billion laughs in the first worksheet."""
    return with_part(content, first_sheet_part(content), BILLION_LAUGHS)


def external_entity(content: bytes) -> bytes:
    """The first worksheet declaring an entity that would pull in /etc/passwd, and using it in a cell."""
    name = first_sheet_part(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        data = archive.read(name)
    start = data.index(b"<worksheet")
    used = re.sub(rb"<t>[^<]*</t>", b"<t>&secret;</t>", data[start:], count=1)
    return with_part(content, name, data[:start] + EXTERNAL_ENTITY + used)


def declaration_across_chunks(content: bytes) -> bytes:
    """A document type declaration straddling the boundary of the chunks the check reads in."""
    name = first_sheet_part(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        data = archive.read(name)
    start = data.index(b"<worksheet")
    padding = b" " * (spreadsheets._CHUNK - 4)
    return with_part(content, name, padding + b"<!DOCTYPE worksheet []>" + data[start:])


def zip_bomb(content: bytes) -> bytes:
    """A 250 MB part of zeros that packs to a few hundred kilobytes."""
    out = io.BytesIO(rewritten(content, lambda _part, _data: None))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/media/zeros.bin", "w") as part:
        block = bytes(1024 * 1024)
        for _ in range(250):
            part.write(block)
    return out.getvalue()


def truncated(content: bytes) -> bytes:
    return content[: len(content) // 2]


def zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "Competitor,Aspect,Value\nC001,A1.1,1\n")
    return out.getvalue()


def wrong_sheets() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(["Name", "Score"])
    sheet.append(["Anna", 12])
    return saved(book)


def csv_text() -> bytes:
    return b"Competitor;Aspect;Value\nC001;A1.1;1\n"


@functools.cache
def many_rows(sheet: str, header: tuple[str, ...], rows: int = 100_000) -> bytes:
    """A workbook whose sheet has `rows` filled rows under the header (write-only: fast and small)."""
    book = openpyxl.Workbook(write_only=True)
    target = book.create_sheet(sheet)
    target.append(list(header))
    for number in range(rows):
        target.append([f"C{number:06d}"])
    return saved(book)


def sheet_part(content: bytes, position: int = 1) -> str:
    """The zip part of the workbook's n-th sheet (openpyxl numbers them in order)."""
    return f"xl/worksheets/sheet{position}.xml"


def replace_cell(content: bytes, part: str, cell: str, xml: str) -> bytes:
    """The workbook with one cell's XML element replaced (the cell must exist in the part)."""

    def change(name: str, data: bytes) -> bytes | None:
        if name != part:
            return None
        start = data.index(f'<c r="{cell}"'.encode())
        opening_end = data.index(b">", start)
        end = opening_end + 1 if data[opening_end - 1 : opening_end] == b"/" else data.index(b"</c>", start) + 4
        return data[:start] + xml.encode() + data[end:]

    return rewritten(content, change)


def huge_cell(content: bytes, part: str, cell: str, length: int = 1_000_000) -> bytes:
    """One cell holding `length` characters, written straight into the XML (openpyxl itself cuts
    strings at Excel's limit when it writes, but nothing stops another program)."""
    return replace_cell(content, part, cell, f'<c r="{cell}" t="inlineStr"><is><t>{"x" * length}</t></is></c>')


def formula_with_saved_value(content: bytes, part: str, cell: str, formula: str, value: str) -> bytes:
    """A cell turned into a formula with its saved value, as Excel and LibreOffice write it
    (openpyxl itself never saves values of formulas)."""
    return replace_cell(
        content, part, cell, f'<c r="{cell}" t="str"><f>{escape(formula)}</f><v>{escape(value)}</v></c>'
    )
