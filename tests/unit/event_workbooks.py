"""Small event workbooks for tests, built with openpyxl: a good one, and ways to spoil it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from openpyxl import Workbook

Sheets = dict[str, list[list[Any]]]


def good_sheets() -> Sheets:
    """SkillsLatvia-like: 2 stages, 2 skills in 2 sectors, 3 schools, 4 competitors, 5 experts."""
    return {
        "Event": [
            ["Code", "Name", "Starts", "Ends", "Venue"],
            ["TEST23", "Test Skills 2023", "2023-02-07", dt.datetime(2023, 4, 28), "Rīga"],
        ],
        "Stages": [
            ["Code", "Name", "Kind", "Starts", "Ends", "Venue"],
            ["SF1", "1. pusfināls", "semi_final", "2023-02-07", "2023-02-08", "Rīgas Valsts tehnikums"],
            ["FINAL", "Fināls", "final", dt.datetime(2023, 4, 26), dt.datetime(2023, 4, 28), "Ķīpsala"],
        ],
        "Skills": [
            ["Code", "Name", "Sector", "Team size", "Advance"],
            [23, "Mobile Robotics", "Manufacturing and engineering technology", 2, 4],
            ["17", "Web Technologies", "Information and communication technology", None, 5],
        ],
        "Institutions": [
            ["Code", "Name", "Kind"],
            ["RVT", "Rīgas Valsts tehnikums", "school"],
            ["LVT", "Liepājas Valsts tehnikums", "school"],
            ["ACME", "Acme SIA", "company"],
        ],
        "Competitors": [
            ["Code", "First name", "Last name", "Birth date", "Institution", "Skill", "Stage"],
            ["C001", "Anna", "Bērziņa", "2004-05-01", "RVT", "23", "SF1"],
            ["C002", "Jānis", "Kalniņš", dt.datetime(2005, 1, 2), "LVT", "23", "SF1"],
            ["C003", "Līga", "Ozola", None, "RVT", "17", "SF1"],
            ["C004", "Mārtiņš", "Liepiņš", "2003-12-24", "LVT", "17", "FINAL"],
        ],
        "Experts": [
            ["Code", "First name", "Last name", "Email", "Institution", "Skill", "Role"],
            ["E001", "Inese", "Kalniņa", "inese@example.lv", "RVT", "23", "chief_expert"],
            ["E002", "Pēteris", "Ozols", "peteris@example.lv", "LVT", "23", "expert"],
            ["E003", "Zane", "Liepa", "zane@example.lv", "ACME", "23", "expert"],
            ["E004", "Andris", "Krūmiņš", "Andris@Example.lv", "RVT", "17", "chief_expert"],
            ["E005", "Inese", "Kalniņa", "inese@example.lv", "RVT", "17", "expert"],
        ],
    }


def workbook_bytes(sheets: Sheets) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_workbook(path: Path, sheets: Sheets | None = None) -> Path:
    path.write_bytes(workbook_bytes(sheets or good_sheets()))
    return path
