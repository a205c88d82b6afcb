"""Checks on the committed SkillsLatvia 2023 demo workbook (fixtures/skillslatvia2023.xlsx)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WORKBOOK = FIXTURES / "skillslatvia2023.xlsx"
LATVIAN_LETTERS = set("āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ")

EXPECTED_SKILLS = {
    "Creative arts and fashion": {"Window Display Design", "Fashion Technology", "Garment Making"},
    "Information and communication technology": {
        "IT Network Systems Administration", "Graphic Design Technology"},
    "Manufacturing and engineering technology": {"Mobile Robotics", "Mechatronics"},
    "Social and personal services": {
        "Cooking", "Restaurant Service", "Hairdressing", "Hotel Reception"},
    "Construction and building technology": {
        "Plumbing and Heating", "Electrical Installations", "Wall and Floor Tiling",
        "Painting and Decorating", "Drywall Systems", "Cabinetmaking"},
    "Transportation and logistics": {"Heavy Vehicle Technology", "Freight Forwarding"},
}
WORLDSKILLS_CODES = {
    "IT Network Systems Administration": "39", "Graphic Design Technology": "40",
    "Mobile Robotics": "23", "Mechatronics": "04", "Cooking": "34", "Restaurant Service": "35",
    "Hairdressing": "29", "Hotel Reception": "57", "Plumbing and Heating": "12",
    "Electrical Installations": "18", "Wall and Floor Tiling": "11",
    "Painting and Decorating": "21", "Drywall Systems": "22", "Cabinetmaking": "24",
    "Heavy Vehicle Technology": "52", "Freight Forwarding": "53",
}


def read_records(source) -> dict[str, list[dict]]:
    """Every sheet as a list of {header: value} rows."""
    wb = openpyxl.load_workbook(source, read_only=True)
    sheets = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        headers = [str(h).strip() for h in rows[0]]
        sheets[ws.title] = [dict(zip(headers, row)) for row in rows[1:]
                            if any(v is not None for v in row)]
    wb.close()
    return sheets


def as_date(value) -> dt.date:
    assert isinstance(value, (dt.date, dt.datetime)), value
    return value.date() if isinstance(value, dt.datetime) else value


@pytest.fixture(scope="module")
def book() -> dict[str, list[dict]]:
    return read_records(WORKBOOK)


@pytest.fixture(scope="module")
def generator():
    """fixtures/skillslatvia2023.py loaded by path (fixtures/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "skillslatvia2023", FIXTURES / "skillslatvia2023.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sheets_and_headers(book):
    assert list(book) == ["Event", "Stages", "Skills", "Institutions", "Competitors", "Experts"]
    assert list(book["Competitors"][0]) == [
        "Code", "First name", "Last name", "Birth date", "Institution", "Skill", "Stage"]
    assert list(book["Experts"][0]) == [
        "Code", "First name", "Last name", "Email", "Institution", "Skill", "Role"]


def test_event(book):
    (event,) = book["Event"]
    assert event["Code"] == "SL2023" and event["Name"] == "SkillsLatvia 2023"
    assert as_date(event["Starts"]) == dt.date(2023, 2, 7)
    assert as_date(event["Ends"]) == dt.date(2023, 4, 6)
    assert event["Venue"] == "Ķīpsalas starptautiskais izstāžu centrs, Ķīpsalas iela 8, Rīga"


def test_skills_in_six_sectors(book):
    skills = book["Skills"]
    assert len(skills) == 19
    by_sector: dict[str, set[str]] = {}
    for skill in skills:
        by_sector.setdefault(skill["Sector"], set()).add(skill["Name"])
    assert by_sector == EXPECTED_SKILLS
    codes = {skill["Name"]: skill["Code"] for skill in skills}
    assert {name: codes[name] for name in WORLDSKILLS_CODES} == WORLDSKILLS_CODES
    for skill in skills:
        assert isinstance(skill["Code"], str)
        assert skill["Team size"] == (2 if skill["Name"] == "Mobile Robotics" else 1)
        assert 4 <= skill["Advance"] <= 6


def test_stages(book):
    stages = book["Stages"]
    semis = [s for s in stages if s["Kind"] == "semi_final"]
    finals = [s for s in stages if s["Kind"] == "final"]
    assert sorted(s["Code"] for s in semis) == ["SF1", "SF2", "SF3", "SF4"]
    assert len({s["Venue"] for s in semis}) == 3
    for stage in semis:
        starts, ends = as_date(stage["Starts"]), as_date(stage["Ends"])
        assert (starts.year, starts.month, ends.month) == (2023, 2, 2) and starts <= ends
    (final,) = finals
    assert final["Code"] == "FINAL" and "Rīga" in final["Venue"] and "Ķīpsala" in final["Venue"]
    starts, ends = as_date(final["Starts"]), as_date(final["Ends"])
    assert (starts.year, starts.month, ends.month) == (2023, 4, 4)
    assert 2 <= (ends - starts).days + 1 <= 3


def test_stage_dates_inside_event_and_final_last(book):
    (event,) = book["Event"]
    stages = book["Stages"]
    for stage in stages:
        assert as_date(event["Starts"]) <= as_date(stage["Starts"])
        assert as_date(stage["Ends"]) <= as_date(event["Ends"])
    final = next(s for s in stages if s["Kind"] == "final")
    last_semi = max(as_date(s["Ends"]) for s in stages if s["Kind"] == "semi_final")
    assert last_semi < as_date(final["Starts"])
    assert as_date(event["Starts"]) == min(as_date(s["Starts"]) for s in stages)
    assert as_date(event["Ends"]) == as_date(final["Ends"])


def test_semi_finals_are_a_real_cut_and_teams_share_a_school(book):
    competitors = book["Competitors"]
    for skill in book["Skills"]:
        entrants = [c for c in competitors if c["Skill"] == skill["Code"]]
        team_size = skill["Team size"]
        assert len(entrants) % team_size == 0
        assert skill["Advance"] < len(entrants) // team_size, skill["Name"]
        schools = Counter(c["Institution"] for c in entrants)
        assert all(n % team_size == 0 for n in schools.values()), skill["Name"]


def test_institutions(book):
    institutions = book["Institutions"]
    assert len(institutions) == 32
    assert all(i["Kind"] == "school" for i in institutions)
    assert all(i["Code"] == i["Code"].upper() and i["Code"].isalnum() for i in institutions)


def test_competitors(book):
    competitors = book["Competitors"]
    assert len(competitors) == 155
    assert [c["Code"] for c in competitors] == [f"C{n:03d}" for n in range(1, 156)]
    per_skill = Counter(c["Skill"] for c in competitors)
    assert len(per_skill) == 19 and all(6 <= n <= 10 for n in per_skill.values())
    assert per_skill[next(s["Code"] for s in book["Skills"] if s["Team size"] == 2)] % 2 == 0
    stages_of_skill: dict[str, set[str]] = {}
    for c in competitors:
        stages_of_skill.setdefault(c["Skill"], set()).add(c["Stage"])
        assert 2002 <= as_date(c["Birth date"]).year <= 2006
    assert all(len(stages) == 1 for stages in stages_of_skill.values())
    used = {stage for stages in stages_of_skill.values() for stage in stages}
    assert used == {"SF1", "SF2", "SF3", "SF4"}
    assert max(Counter((c["Skill"], c["Institution"]) for c in competitors).values()) <= 3


def test_gendered_surnames_and_diacritics(book, generator):
    people = book["Competitors"] + book["Experts"]
    women = set(generator.STUDENT_NAMES_FEMALE) | set(generator.EXPERT_NAMES_FEMALE)
    men = set(generator.STUDENT_NAMES_MALE) | set(generator.EXPERT_NAMES_MALE)
    for person in people:
        female = person["First name"] in women
        assert female != (person["First name"] in men), person["First name"]
        surnames = {pair[1 if female else 0] for pair in generator.SURNAMES}
        assert person["Last name"] in surnames, (person["First name"], person["Last name"])
    with_diacritics = [p for p in people
                       if LATVIAN_LETTERS & set(p["First name"] + p["Last name"])]
    assert len(with_diacritics) > len(people) / 2
    assert any(p["Last name"] == "Bērziņa" or p["Last name"] == "Bērziņš" for p in people)


def test_experts(book):
    experts = book["Experts"]
    assert [e["Code"] for e in experts] == [f"E{n:03d}" for n in range(1, len(experts) + 1)]
    emails = [e["Email"] for e in experts]
    assert len(set(emails)) == len(emails)
    for email in emails:
        assert email.isascii() and email == email.lower() and email.endswith("@skills.example.lv")
    for skill in book["Skills"]:
        team = [e for e in experts if e["Skill"] == skill["Code"]]
        assert [e["Role"] for e in team].count("chief_expert") == 1
        assert 3 <= [e["Role"] for e in team].count("expert") <= 5


def test_every_competitor_has_three_unconflicted_experts(book):
    for competitor in book["Competitors"]:
        free = [e for e in book["Experts"]
                if e["Skill"] == competitor["Skill"] and e["Role"] == "expert"
                and e["Institution"] != competitor["Institution"]]
        assert len(free) >= 3, competitor["Code"]


def test_codes_unique_and_references_resolve(book):
    for sheet in ("Stages", "Skills", "Institutions", "Competitors", "Experts"):
        codes = [row["Code"] for row in book[sheet]]
        assert len(set(codes)) == len(codes), sheet
    institutions = {i["Code"] for i in book["Institutions"]}
    skills = {s["Code"] for s in book["Skills"]}
    stages = {s["Code"] for s in book["Stages"]}
    for c in book["Competitors"]:
        assert c["Institution"] in institutions and c["Skill"] in skills
        assert c["Stage"] in stages
    for e in book["Experts"]:
        assert e["Institution"] in institutions and e["Skill"] in skills


def test_committed_workbook_matches_generator(book, generator):
    assert read_records(io.BytesIO(generator.build_workbook())) == book
