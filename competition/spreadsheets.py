"""Opening xlsx files from users safely: the file is checked before openpyxl parses it, and rows are read within limits.

Every importer (event workbook, marking scheme, marks workbook) opens its file through
`open_workbook` and reads sheets through `sheet_rows`, so a hostile or broken file is refused the
same way everywhere, in bounded time and memory, with a message that says what and where:

- not a zip, or a zip that is not a workbook: `NotAWorkbook` (each importer words it for its file);
- more than `MAX_FILE_BYTES` on disk, more than `MAX_PARTS` parts, or more than `MAX_UNPACKED_BYTES`
  once unpacked (a "zip bomb");
- an XML document type or entity declaration in any part (the "billion laughs" and external entity
  tricks; a real workbook never has one). defusedxml guards openpyxl's own XML parsing as well;
- data below row `MAX_ROWS`, or a cell longer than `MAX_CELL_CHARS` (Excel's own limit).

Columns after `MAX_COLUMNS` are not read: no layout Podium reads goes that far. Everything here
blocks (zip and XML work): call it in a worker thread.

Every workbook Podium writes puts its values through `cell_value` / `append_row`, so a name, a
reason or a description that starts with "=" stays text (never a formula that a spreadsheet program
would run: "formula injection"), and characters an xlsx file cannot hold are dropped instead of
failing the download.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from competition.i18n import gettext as _

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_PARTS = 5_000
MAX_ROWS = 50_000
MAX_COLUMNS = 64
MAX_CELL_CHARS = 32_767

_CHUNK = 1024 * 1024
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


class UnsafeWorkbook(Exception):
    """The file cannot be read as it is; the message says what is wrong and where."""


class NotAWorkbook(UnsafeWorkbook):
    """The file is not an xlsx workbook at all (not a zip, or a zip without a workbook in it)."""


def open_workbook(source: bytes | Path, *, data_only: bool = True) -> Workbook:
    """The workbook, opened read-only once the file has passed the checks above (blocking)."""
    content = _content(source)
    stream = io.BytesIO(content)
    if not zipfile.is_zipfile(stream):
        raise NotAWorkbook(_("The file is not an Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(stream) as archive:
            _check_parts(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise NotAWorkbook(_("The file is not an Excel workbook (.xlsx).")) from None
    try:
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=data_only)
    except Exception:  # openpyxl raises zip, XML and key errors alike for a zip that is not a workbook
        raise NotAWorkbook(_("The file is not an Excel workbook (.xlsx).")) from None


def _content(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        content = source
    else:
        try:
            if source.stat().st_size > MAX_FILE_BYTES:
                raise UnsafeWorkbook(_too_large())
            content = source.read_bytes()
        except FileNotFoundError:
            raise UnsafeWorkbook(_("File not found: %(path)s", path=str(source))) from None
        except IsADirectoryError:
            raise UnsafeWorkbook(_("%(path)s is a folder, not a file.", path=str(source))) from None
    if len(content) > MAX_FILE_BYTES:
        raise UnsafeWorkbook(_too_large())
    return content


def _too_large() -> str:
    return _("The file is larger than %(limit)s MB.", limit=MAX_FILE_BYTES // (1024 * 1024))


def _check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse too many parts, too much unpacked data, and XML declarations, reading each part once."""
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise UnsafeWorkbook(
            _("The workbook has %(count)s parts; at most %(limit)s are read.", count=len(parts), limit=MAX_PARTS)
        )
    declared = sum(part.file_size for part in parts)  # zipfile never unpacks more than a part declares
    if declared > MAX_UNPACKED_BYTES:
        raise UnsafeWorkbook(
            _(
                "The workbook unpacks to %(size)s MB; at most %(limit)s MB are read.",
                size=declared // (1024 * 1024),
                limit=MAX_UNPACKED_BYTES // (1024 * 1024),
            )
        )
    for part in parts:
        if part.filename.endswith((".xml", ".rels", ".vml")) and _declares(archive, part):
            raise UnsafeWorkbook(
                _(
                    "The workbook part %(part)s declares an XML document type or entities, which no "
                    "spreadsheet program writes; the file is refused.",
                    part=part.filename,
                )
            )


def _declares(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            if any(declaration in window for declaration in _DECLARATIONS):
                return True
            tail = window[-16:]
    return False


def sheet_rows(worksheet: Any, sheet: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Every row of a read-only sheet with its number (from 1), blank rows included, within the limits."""
    worksheet.reset_dimensions()  # some writers record wrong dimensions; read every row there is
    for number, values in enumerate(worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if number > MAX_ROWS and any(value is not None and value != "" for value in values):
            row, limit = _count(number), _count(MAX_ROWS)
            raise UnsafeWorkbook(
                _(
                    "Sheet %(sheet)s has data in row %(row)s; a sheet may have at most %(limit)s rows.",
                    sheet=sheet,
                    row=row,
                    limit=limit,
                )
            )
        for column, value in enumerate(values, start=1):
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                cell, length, limit = (
                    get_column_letter(column) + str(number),
                    _count(len(value)),
                    _count(MAX_CELL_CHARS),
                )
                raise UnsafeWorkbook(
                    _(
                        "Sheet %(sheet)s, cell %(cell)s holds %(length)s characters; "
                        "a cell may hold at most %(limit)s.",
                        sheet=sheet,
                        cell=cell,
                        length=length,
                        limit=limit,
                    )
                )
        yield number, values


def _count(number: int) -> str:
    """A count with thousands separated by commas, as the messages show it (50,000)."""
    return f"{number:,}"



# --- writing ------------------------------------------------------------------------------


def cell_value(cell: Cell, value: Any) -> Cell:
    """Sets a cell's value; text is stored as text, even when it starts with "=", without control characters."""
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def append_row(sheet: Worksheet, values: Sequence[Any]) -> None:
    """Appends a row below the sheet's last one (as `Worksheet.append`), text set as `cell_value` sets it."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value for value in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            sheet.cell(row, column).data_type = "s"
