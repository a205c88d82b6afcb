"""The blank marks workbook for `podium import-marks` (CONTRACT.md, "Marks workbook")."""

import io
from decimal import Decimal

import openpyxl
import pytest

from scoring.cis_xlsx import write_marks_template
from tests.unit.test_scheme_validation import tidy_scheme

pytestmark = pytest.mark.usefixtures("english")

COMPETITORS = [("C01", "Anna Bērziņa"), ("C02", "Jānis Kalniņš")]


def sheets(judges: int = 3) -> openpyxl.Workbook:
    return openpyxl.load_workbook(
        io.BytesIO(write_marks_template(tidy_scheme(), COMPETITORS, judges=judges))
    )


def test_marks_sheet_has_the_contract_header_and_one_row_per_competitor_and_aspect() -> None:
    rows = list(sheets()["Marks"].iter_rows(values_only=True))
    assert rows[0] == ("Competitor", "Aspect", "Value", "Judge 1", "Judge 2", "Judge 3", "Reason")
    aspects = ["A1.1", "A1.2", "A2.1", "B1.1", "B1.2"]
    assert [row[:2] for row in rows[1:]] == [
        (competitor, aspect) for competitor in ("C01", "C02") for aspect in aspects
    ]
    assert all(value is None for row in rows[1:] for value in row[2:])


def test_five_judges_add_judge_4_and_5_before_reason() -> None:
    header = next(sheets(judges=5)["Marks"].iter_rows(values_only=True))
    assert header == ("Competitor", "Aspect", "Value", "Judge 1", "Judge 2", "Judge 3",
                      "Judge 4", "Judge 5", "Reason")


@pytest.mark.parametrize("judges", [2, 6])
def test_judging_team_outside_3_to_5_is_refused(judges: int) -> None:
    with pytest.raises(ValueError, match="3 to 5 judges"):
        write_marks_template(tidy_scheme(), COMPETITORS, judges=judges)


def test_aspects_sheet_says_how_each_aspect_is_recorded() -> None:
    rows = list(sheets()["Aspects"].iter_rows(values_only=True))
    assert rows[0] == ("Aspect", "Type", "Calculation", "Possible / choices", "Max mark",
                       "Description")
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["A1.1"][1:5] == ("M", "pass_fail", "1 (pass) or 0 (fail)", 20)
    assert by_code["A1.2"][1:4] == ("J", "judgement (scores 0-3)",
                                    "Judge columns: each judge's score 0, 1, 2 or 3")
    assert by_code["A2.1"][3] == "total deducted; a Reason when above 0"
    assert by_code["B1.1"][2:4] == ("number_completed", "number completed, 0 to 4")
    assert by_code["B1.2"][3] == (
        "1 = Perfect (−0%); 2 = Slightly over (−33.3%); 3 = Overcooked (−100%)"
    )
    assert Decimal(str(by_code["B1.2"][4])) == Decimal(30)
    assert by_code["B1.2"][5] == "Finish of the product"


def test_competitor_names_are_listed_for_the_person_filling_it_in() -> None:
    rows = list(sheets()["Competitors"].iter_rows(values_only=True))
    assert rows == [("Competitor", "Name"), *COMPETITORS]


def test_judge_cells_accept_only_scores_0_to_3() -> None:
    validations = sheets()["Marks"].data_validations.dataValidation
    assert [(v.type, v.formula1, v.formula2, str(v.sqref)) for v in validations] == [
        ("whole", "0", "3", "D2:F11")
    ]
