"""What the CIS reader says of broken files and rows: a clear message, its row, never a crash."""

import io
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from scoring.cis_xlsx import ReadResult, read_scheme, write_scheme
from scoring.scheme_data import SchemeData
from tests.unit.test_scheme_validation import tidy_scheme

pytestmark = pytest.mark.usefixtures("english")

SHEET = "CIS Marking Scheme Import"


def saved(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def tidy_file(change: Callable[[openpyxl.Workbook], None] | None = None) -> bytes:
    """The tidy scheme written out, then changed by hand as a person might."""
    workbook = openpyxl.load_workbook(io.BytesIO(write_scheme(tidy_scheme())))
    if change is not None:
        change(workbook)
    return saved(workbook)


def row_of(text: object, sheet: Worksheet) -> int:
    """The first row with `text` in column A (IDs, section numbers) or E (aspect descriptions)."""
    for row in sheet.iter_rows():
        if text in (row[0].value, row[4].value):
            return row[0].row
    raise AssertionError(f"{text!r} is not in the sheet")


def refused(result: ReadResult) -> list[tuple[int | None, str]]:
    assert result.scheme is None
    return [(p.row, p.message) for p in result.errors]


def test_tidy_scheme_file_reads_without_problems() -> None:
    result = read_scheme(tidy_file())
    assert result.problems == []
    assert result.scheme == tidy_scheme()


# Files that are not a scheme at all.


@pytest.mark.parametrize(
    "content",
    [b"", b"Competitor;Aspect;Value\nC01;A1.1;1\n", b"PK\x03\x04 truncated zip"],
    ids=["empty file", "csv text", "broken zip"],
)
def test_not_an_xlsx_workbook_is_refused_with_a_clear_message(content: bytes) -> None:
    result = read_scheme(content)
    assert result == ReadResult(None, result.problems, None)
    assert [(p.severity, p.message) for p in result.problems] == [
        ("error", "The file is not an xlsx workbook.")
    ]


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a spreadsheet")
    assert refused(read_scheme(buffer.getvalue())) == [(None, "The file is not an xlsx workbook.")]


def test_workbook_with_a_damaged_sheet_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(tidy_file())) as original, zipfile.ZipFile(buffer, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut off mid-way
            copy.writestr(item, data)
    assert refused(read_scheme(buffer.getvalue())) == [
        (None, "The xlsx workbook is damaged: its sheets cannot be read.")
    ]


def test_missing_file_and_text_file_paths_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "scheme.xlsx"
    assert refused(read_scheme(missing)) == [(None, f"File not found: {missing}")]
    text = tmp_path / "scheme.txt"
    text.write_text("A1;Planning")
    assert refused(read_scheme(text)) == [(None, "The file is not an xlsx workbook.")]


def test_empty_workbook_has_no_criteria_table() -> None:
    result = read_scheme(saved(openpyxl.Workbook()))
    assert result.summary is None
    assert refused(result) == [(
        None,
        "No Criteria table found on sheet 'Sheet': expected a row reading 'Criteria' followed "
        "by a header row with ID, Name and Mark.",
    )]


def test_sheet_with_standards_but_without_criteria_table_is_refused() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Section", "WSOS Marks", "WSOS Marks"])
    sheet.append([1, "Work organisation", 100])
    sheet.append(["Criteria"])  # a heading without its ID / Name / Mark header
    sheet.append(["A", "Preparation", 100])
    result = read_scheme(saved(workbook))
    assert len(refused(result)) == 1
    assert "No Criteria table found" in result.problems[0].message


def test_criteria_table_without_aspects_is_refused() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Criteria"])
    sheet.append(["ID", "Name", "Mark"])
    sheet.append(["A", "Preparation", 100])
    result = read_scheme(saved(workbook))
    assert refused(result) == [(None, "The scheme has no aspects.")]
    assert str(result.summary) == "1 criteria, 0 sub-criteria, 0 aspects (0 M, 0 J), total 0.00"


# Tables are found by their headers, wherever they are.


def test_tables_are_found_by_header_text_not_row_or_column_numbers() -> None:
    first_aspect = aspect_row("Work plan handed in on time")

    def shift(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        for merged in list(sheet.merged_cells.ranges):
            sheet.unmerge_cells(str(merged))
        sheet.insert_rows(1, 4)
        sheet.insert_cols(1, 2)
        sheet.cell(2, 1, "   ")  # a whitespace-only row
        workbook.move_sheet(SHEET, offset=1)  # no longer the first sheet

    result = read_scheme(tidy_file(shift))
    assert result.problems == []
    assert result.scheme == tidy_scheme()
    assert result.scheme.aspects[0].row == first_aspect + 4


def test_first_sheet_is_read_when_no_sheet_has_the_cis_name() -> None:
    def rename(workbook: openpyxl.Workbook) -> None:
        workbook[SHEET].title = "Marking scheme"

    result = read_scheme(tidy_file(rename))
    assert result.scheme == tidy_scheme()


def test_block_columns_are_found_by_their_header_text() -> None:
    def swap(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]  # swap "WSOS Section" (I) and "Max Mark" (K) in the blocks
        for row in sheet.iter_rows(min_row=row_of("A1", sheet) - 1):
            row[8].value, row[10].value = row[10].value, row[8].value

    result = read_scheme(tidy_file(swap))
    assert result.scheme == tidy_scheme()


# Broken rows: the error or warning names the row.


def change_cell(text: str, column: str, value: object) -> Callable[[openpyxl.Workbook], None]:
    def change(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"{column}{row_of(text, sheet)}"] = value

    return change


def change_calculation(
    description: str, column: str, edit: Callable[[Any], Any]
) -> Callable[[openpyxl.Workbook], None]:
    """Edits the aspect's row in the Calculations sheet: column B is the type, D the parameters."""
    def change(workbook: openpyxl.Workbook) -> None:
        reference = workbook[SHEET][f"J{row_of(description, workbook[SHEET])}"].value
        cell = workbook["Calculations"][f"{column}{reference}"]
        cell.value = edit(cell.value)

    return change


def aspect_row(description: object) -> int:
    workbook = openpyxl.load_workbook(io.BytesIO(tidy_file()))
    return row_of(description, workbook[SHEET])


def test_aspect_type_other_than_m_or_j_is_an_error() -> None:
    row = aspect_row("Safe working")
    result = read_scheme(tidy_file(change_cell("Safe working", "D", "X")))
    assert (row, f"Row {row}: aspect 'Safe working' has type 'X'; an aspect is M or J.") in (
        refused(result)
    )


def test_non_numeric_max_mark_is_an_error() -> None:
    row = aspect_row("Safe working")
    result = read_scheme(tidy_file(change_cell("Safe working", "K", "ten")))
    assert refused(result) == [
        (row, f"Row {row}: the max mark of aspect A2.1 is not a number ('ten').")
    ]


def test_formula_max_mark_is_an_error_as_formulas_are_not_evaluated() -> None:
    row = aspect_row("Safe working")
    result = read_scheme(tidy_file(change_cell("Safe working", "K", "=5+5")))
    assert refused(result) == [
        (row, f"Row {row}: the max mark of aspect A2.1 is not a number ('=5+5').")
    ]


def test_non_numeric_section_is_an_error() -> None:
    row = aspect_row("Safe working")
    result = read_scheme(tidy_file(change_cell("Safe working", "I", "one")))
    assert refused(result) == [
        (row, f"Row {row}: the WSOS section of aspect A2.1 is not a section number ('one').")
    ]


def test_unknown_calculation_row_is_an_error() -> None:
    row = aspect_row("Safe working")
    result = read_scheme(tidy_file(change_cell("Safe working", "J", 40)))
    assert refused(result) == [(
        row,
        f"Row {row}: aspect A2.1 'Safe working' refers to calculation row 40, which the "
        "Calculations sheet does not define.",
    )]


def test_calculation_row_without_a_calculations_sheet_is_an_error() -> None:
    def drop(workbook: openpyxl.Workbook) -> None:
        del workbook["Calculations"]

    errors = refused(read_scheme(tidy_file(drop)))
    assert len(errors) == 4  # every M aspect names a calculation row
    assert all("which the Calculations sheet does not define" in message for _r, message in errors)


def test_unsupported_calculation_type_is_an_error() -> None:
    row = aspect_row("Safe working")
    retype = change_calculation("Safe working", "B", lambda _type: "TIME_TAKEN")
    assert refused(read_scheme(tidy_file(retype))) == [(
        row,
        f"Row {row}: aspect A2.1 'Safe working' uses calculation row 2: its type TIME_TAKEN is "
        "not one Podium can mark (PASS_FAIL, DEDUCTION, NUMBER_COMPLETED, CHOICE).",
    )]


def test_number_completed_without_num_possible_is_an_error() -> None:
    row = aspect_row("Required parts made")
    drop_possible = change_calculation("Required parts made", "D", lambda _params: "")
    assert refused(read_scheme(tidy_file(drop_possible))) == [(
        row,
        f"Row {row}: M aspect B1.1 'Required parts made' counts completed items but does not "
        "say how many are possible (at least 1).",
    )]


def test_choice_deduction_that_is_not_a_number_is_an_error() -> None:
    row = aspect_row("Finish of the product")
    garble = change_calculation(
        "Finish of the product", "D", lambda params: params.replace("33.30000000", "a third")
    )
    assert refused(read_scheme(tidy_file(garble))) == [(
        row,
        f"Row {row}: aspect B1.2 'Finish of the product' uses calculation row 4: its "
        "CHOICE2_DEDUCTION is not a number ('a third').",
    )]


@pytest.mark.parametrize(
    ("description", "edit", "problem"),
    [
        ("Finish of the product", lambda p: p.replace("PERCENT", "POINTS"),
         "its deductions are of type POINTS; Podium reads deductions in PERCENT."),
        ("Finish of the product", lambda p: p.replace("CHOICE2_DEDUCTION:::33.30000000", "X:::"),
         "its option 2 has no deduction."),
        ("Required parts made", lambda p: p.replace("4.00000000", "4.5"),
         "its NUM_POSSIBLE is not a whole number ('4.5')."),
    ],
)
def test_calculation_row_podium_cannot_use_is_an_error(
    description: str, edit: Callable[[str], str], problem: str
) -> None:
    row = aspect_row(description)
    errors = refused(read_scheme(tidy_file(change_calculation(description, "D", edit))))
    assert len(errors) == 1
    assert errors[0][0] == row
    assert errors[0][1].startswith(f"Row {row}: aspect ")
    assert errors[0][1].endswith(problem)


def test_judgement_score_row_before_any_aspect_is_ignored_with_a_warning() -> None:
    def stray_score(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        row = row_of("A1", sheet) + 1
        sheet.insert_rows(row)
        sheet[f"F{row}"] = 2

    row = aspect_row("A1") + 1
    result = read_scheme(tidy_file(stray_score))
    assert [(p.severity, p.message) for p in result.problems] == [
        ("warning", f"Row {row}: ignored: a judgement score row comes before any aspect.")
    ]


def test_judgement_score_that_is_not_0_to_3_text_is_an_error() -> None:
    def garble(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"F{row_of('Quality of the work plan', sheet) + 2}"] = "one"

    row = aspect_row("Quality of the work plan") + 2
    assert refused(read_scheme(tidy_file(garble))) == [
        (row, f"Row {row}: the judgement score 'one' is not a whole number 0-3.")
    ]


def test_j_aspect_missing_a_descriptor_row_is_a_warning_at_the_aspect_row() -> None:
    row = aspect_row("Quality of the work plan")

    def drop_score_3(workbook: openpyxl.Workbook) -> None:
        workbook[SHEET].delete_rows(row + 4)

    result = read_scheme(tidy_file(drop_score_3))
    assert result.scheme is not None  # a draft
    assert [(p.severity, p.row, p.message) for p in result.problems] == [(
        "warning", row,
        f"Row {row}: J aspect A1.2 'Quality of the work plan' has 3 descriptors; it needs "
        "scores 0, 1, 2 and 3.",
    )]


def test_duplicate_sub_criterion_id_in_the_file_is_an_error_at_its_row() -> None:
    row = aspect_row("B1")
    result = read_scheme(tidy_file(change_cell("B1", "A", "A2")))
    assert (row, f"Row {row}: sub-criterion ID A2 is used more than once (first at row "
            f"{aspect_row('A2')}); each sub-criterion is one marking form and needs its own "
            "ID.") in refused(result)


def test_max_mark_changed_by_hand_warns_about_totals_with_rows() -> None:
    result = read_scheme(tidy_file(change_cell("Safe working", "K", 9.5)))
    assert result.scheme is not None
    assert result.scheme.total() == Decimal("99.5")
    criteria_row = aspect_row("A")
    assert [(p.row, p.message) for p in result.problems] == [
        (None, "The aspects total 99.50 marks; a marking scheme totals 100."),
        (criteria_row, f"Row {criteria_row}: criterion A 'Preparation' has 40.00 marks in the "
                       "Criteria table but its aspects total 39.50."),
    ]


def test_criterion_mark_given_as_formula_is_computed_from_its_aspects() -> None:
    result = read_scheme(tidy_file(change_cell("A", "K", "=SUM(K24:K40)")))
    assert result.problems == []
    assert result.scheme == tidy_scheme()


def test_criterion_without_mark_warns_and_uses_its_aspects_total() -> None:
    row = aspect_row("A")
    result = read_scheme(tidy_file(change_cell("A", "K", None)))
    assert [(p.severity, p.message) for p in result.problems] == [(
        "warning",
        f"Row {row}: criterion A has no mark in the Criteria table; the total of its aspects "
        "is used.",
    )]
    assert result.scheme == tidy_scheme()


def test_non_numeric_criterion_mark_and_weighting_are_errors() -> None:
    section_row, criterion_row = aspect_row(1), aspect_row("A")

    def garble(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"I{section_row}"] = "a lot"
        sheet[f"K{criterion_row}"] = "forty"

    errors = refused(read_scheme(tidy_file(garble)))
    assert errors[:2] == [
        (section_row, f"Row {section_row}: the weighting of standards section 1 is not a number "
                      "('a lot')."),
        (criterion_row, f"Row {criterion_row}: the mark of criterion A is not a number "
                        "('forty')."),
    ]


def test_calculation_row_on_a_j_aspect_is_ignored_with_a_warning() -> None:
    row = aspect_row("Quality of the work plan")
    result = read_scheme(tidy_file(change_cell("Quality of the work plan", "J", 1)))
    assert [(p.severity, p.message) for p in result.problems] == [(
        "warning",
        f"Row {row}: J aspect A1.2 'Quality of the work plan' has a calculation row; judgement "
        "aspects are marked by scores, so it is ignored.",
    )]
    assert result.scheme == tidy_scheme()


def test_row_with_text_but_no_id_type_or_score_is_ignored_with_a_warning() -> None:
    def scribble(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"E{row_of('Safe working', sheet) + 1}"] = "remember to check gloves"

    row = aspect_row("Safe working") + 1
    result = read_scheme(tidy_file(scribble))
    assert [(p.severity, p.message) for p in result.problems] == [(
        "warning",
        f"Row {row}: ignored: the row has no sub-criterion ID, aspect type or judgement score.",
    )]


def test_aspect_before_any_sub_criterion_is_an_error() -> None:
    def orphan(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"A{row_of('A1', sheet)}"] = None

    row = aspect_row("Work plan handed in on time")
    errors = refused(read_scheme(tidy_file(orphan)))
    assert (row, f"Row {row}: aspect 'Work plan handed in on time' comes before any "
                 "sub-criterion ID.") in errors


def test_problems_are_sorted_by_row(tmp_path: Path) -> None:
    def garble(workbook: openpyxl.Workbook) -> None:
        sheet = workbook[SHEET]
        sheet[f"K{row_of('Finish of the product', sheet)}"] = "x"
        sheet[f"D{row_of('Safe working', sheet)}"] = "Q"

    rows = [p.row for p in read_scheme(tidy_file(garble)).problems]
    assert rows == sorted(rows, key=lambda row: row or 0)


def test_reading_a_path_gives_the_same_scheme_as_reading_bytes(tmp_path: Path) -> None:
    path = tmp_path / "scheme.xlsx"
    path.write_bytes(tidy_file())
    assert read_scheme(path).scheme == read_scheme(str(path)).scheme == tidy_scheme()


def test_scheme_dataclasses_are_what_the_file_said(tmp_path: Path) -> None:
    scheme = read_scheme(tidy_file()).scheme
    assert isinstance(scheme, SchemeData)
    assert [(s.code, s.day, s.row) for s in scheme.sub_criteria] == [
        ("A1", "1", aspect_row("A1")), ("A2", "1", aspect_row("A2")), ("B1", "2", aspect_row("B1")),
    ]
