"""The hostile xlsx corpus against the three readers (event workbook, marking scheme, marks workbook):
each bad file is refused with a message that says what and where, without unpacking or parsing what
the limits keep out; formulas and merged cells are read the way the layouts say."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import openpyxl.xml
import pytest

from competition import spreadsheets
from competition.errors import Invalid
from competition.registration.workbook import Existing, plan_import, read_workbook
from scoring.cis_xlsx import read_scheme
from scoring.marks_workbook import read_marks
from tests import hostile_workbooks as hostile
from tests.unit.event_workbooks import good_sheets, workbook_bytes

pytestmark = pytest.mark.usefixtures("english")


def event_problems(content: bytes) -> list[str]:
    try:
        plan_import(read_workbook(content, "event.xlsx"), Existing(), "event.xlsx")
    except Invalid as refused:
        return [refused.message, *refused.problems]
    return []


def scheme_problems(content: bytes) -> list[str]:
    return [f"{problem.row}: {problem.message}" for problem in read_scheme(content).errors]


def marks_problems(content: bytes) -> list[str]:
    return read_marks(content).problems


READERS: dict[str, tuple[Callable[[bytes], list[str]], Callable[[], bytes], str]] = {
    "event": (event_problems, hostile.good_event, "event.xlsx is not an Excel workbook (.xlsx)."),
    "scheme": (scheme_problems, hostile.good_scheme, "The file is not an xlsx workbook."),
    "marks": (marks_problems, hostile.good_marks, "The file is not an Excel workbook (.xlsx)."),
}

DECLARES = "declares an XML document type or entities"
SPOILERS: dict[str, tuple[Callable[[bytes], bytes], str | None]] = {
    "csv renamed to xlsx": (lambda _good: hostile.csv_text(), None),
    "empty file": (lambda _good: b"", None),
    "zip of a text file": (lambda _good: hostile.zip_of_text(), None),
    "truncated download": (hostile.truncated, None),
    "billion laughs": (hostile.entity_bomb, DECLARES),
    "external entity": (hostile.external_entity, DECLARES),
    "declaration across read chunks": (hostile.declaration_across_chunks, DECLARES),
    "zip bomb": (hostile.zip_bomb, "The workbook unpacks to 250 MB; at most 200 MB are read."),
}


@pytest.mark.parametrize("reader", READERS)
def test_good_files_of_the_corpus_read_without_problems(reader: str) -> None:
    problems, good, _not_a_workbook = READERS[reader]
    assert problems(good()) == []


@pytest.mark.parametrize("spoiler", SPOILERS)
@pytest.mark.parametrize("reader", READERS)
def test_a_hostile_or_broken_file_is_refused_with_what_is_wrong(reader: str, spoiler: str) -> None:
    problems, good, not_a_workbook = READERS[reader]
    spoil, expected = SPOILERS[spoiler]
    found = problems(spoil(good()))
    assert len(found) == 1, found
    assert (expected or not_a_workbook) in found[0]


def test_openpyxl_parses_with_defusedxml() -> None:
    """Second line of defence behind the check for declarations: openpyxl's own parser refuses entities."""
    assert openpyxl.xml.DEFUSEDXML


@pytest.mark.parametrize(
    ("reader", "content", "expected"),
    [
        ("event", hostile.wrong_sheets, "event.xlsx lacks the sheets Event, Stages, Skills, Institutions"),
        ("scheme", hostile.wrong_sheets, "None: No Criteria table found on sheet 'Sheet1'"),
        ("marks", hostile.wrong_sheets, "The workbook has no sheet named Marks."),
    ],
)
def test_a_workbook_without_the_layouts_sheets_is_refused(
    reader: str, content: Callable[[], bytes], expected: str
) -> None:
    found = READERS[reader][0](content())
    assert len(found) == 1 and found[0].startswith(expected), found


# --- too much ---------------------------------------------------------------------------------------


def event_with_competitors(count: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    for name, rows in good_sheets().items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name == "Competitors":
            for number in range(count):
                sheet.append([f"X{number:06d}"])
    return hostile.saved(book)


@pytest.mark.parametrize(
    ("reader", "content", "sheet"),
    [
        ("event", lambda: event_with_competitors(100_000), "Competitors"),
        ("scheme", lambda: hostile.many_rows("CIS Marking Scheme Import", ("Title",)), "CIS Marking Scheme Import"),
        ("marks", lambda: hostile.many_rows("Marks", tuple(hostile.MARKS_HEADER)), "Marks"),
    ],
)
def test_a_sheet_of_100000_rows_is_refused_at_the_row_limit(
    reader: str, content: Callable[[], bytes], sheet: str
) -> None:
    found = READERS[reader][0](content())
    assert len(found) == 1
    assert f"Sheet {sheet} has data in row 50,001; a sheet may have at most 50,000 rows." in found[0]


def test_blank_rows_past_the_limit_do_not_count() -> None:
    book = openpyxl.load_workbook(io.BytesIO(hostile.good_marks()))
    book["Marks"].cell(row=spreadsheets.MAX_ROWS + 500, column=1).value = None
    book["Marks"].cell(row=spreadsheets.MAX_ROWS + 500, column=2).value = ""
    assert marks_problems(hostile.saved(book)) == []


def scheme_with(change: Callable[[Any, int], None]) -> bytes:
    """The demo scheme with `change(sheet, first_aspect_row)` applied."""
    book = openpyxl.load_workbook(hostile.SCHEME_FILE)
    sheet = book["CIS Marking Scheme Import"]
    first_aspect = next(row[0].row for row in sheet.iter_rows() if row[3].value in ("M", "J"))
    change(sheet, first_aspect)
    return hostile.saved(book)


def test_a_cell_of_a_million_characters_is_refused_naming_the_cell() -> None:
    limit = "a cell may hold at most 32,767."
    event = hostile.huge_cell(hostile.good_event(), hostile.sheet_part(hostile.good_event(), 5), "B3")
    assert event_problems(event) == [f"event.xlsx: Sheet Competitors, cell B3 holds 1,000,000 characters; {limit}"]
    marks = hostile.huge_cell(hostile.good_marks(), hostile.sheet_part(hostile.good_marks()), "B3")
    assert marks_problems(marks) == [f"Sheet Marks, cell B3 holds 1,000,000 characters; {limit}"]
    rows: list[int] = []
    scheme_with(lambda _sheet, row: rows.append(row))
    scheme = hostile.huge_cell(hostile.good_scheme(), hostile.sheet_part(hostile.good_scheme()), f"E{rows[0]}")
    assert scheme_problems(scheme) == [
        f"None: Sheet CIS Marking Scheme Import, cell E{rows[0]} holds 1,000,000 characters; {limit}"
    ]


# --- formulas and merged cells -------------------------------------------------------------------------


def test_a_formula_is_read_by_the_value_excel_saved_with_it() -> None:
    good = hostile.good_event()
    content = hostile.formula_with_saved_value(
        good, hostile.sheet_part(good), "B2", '"Test "&"Skills 2023"', "Test Skills 2023"
    )
    plan = plan_import(read_workbook(content, "event.xlsx"), Existing(), "event.xlsx")
    assert plan.event.name == "Test Skills 2023"
    marks = hostile.formula_with_saved_value(hostile.good_marks(), hostile.sheet_part(good), "A2", '"C0"&"01"', "C001")
    assert read_marks(marks).rows[0].competitor == "C001"


def test_a_formula_without_a_saved_value_counts_as_an_empty_cell_and_is_named() -> None:
    sheets = good_sheets()
    sheets["Competitors"][1][4] = '="RV"&"T"'  # openpyxl saves formulas without their values
    found = event_problems(workbook_bytes(sheets))
    assert found[0] == "event.xlsx was refused (problems: 1); nothing was saved."
    assert found[1].startswith("Competitors row 2: ") and "Institution" in found[1]


def test_a_formula_for_a_schemes_max_mark_is_refused_naming_the_row() -> None:
    rows: list[int] = []

    def formula(sheet: Any, row: int) -> None:
        sheet.cell(row=row, column=11).value = "=1+1"
        rows.append(row)

    found = scheme_problems(scheme_with(formula))
    assert found and all(problem.startswith(f"{rows[0]}: ") for problem in found[:1]), found
    assert "max mark" in found[0].lower()


def test_merged_cells_leave_the_rows_under_the_first_empty_and_those_rows_are_named() -> None:
    sheets = good_sheets()
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(sheets)))
    competitors = book["Competitors"]
    competitors["E3"].value = competitors["E2"].value
    competitors.merge_cells("E2:E3")
    found = event_problems(hostile.saved(book))
    assert found[0] == "event.xlsx was refused (problems: 1); nothing was saved."
    assert found[1].startswith("Competitors row 3: ") and "Institution" in found[1]
