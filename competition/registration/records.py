"""The fields of each kind of record, and how a form field or a workbook cell becomes a checked value.

One list of fields per record type serves three readers: the organiser's forms (labels, input
types, choices), the event workbook (headers: `Field.header`, matched without regard to case or
surrounding spaces) and the services (typed dataclasses). A value that cannot be read gives a
message for that field; the form shows it beside the field, the workbook import prefixes it with
the sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from babel.support import LazyProxy
from openpyxl.utils.datetime import from_excel

from competition.errors import Invalid
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext
from competition.models import ExpertRole, InstitutionKind, StageKind

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_CODE = 32
T = TypeVar("T")

CHOICE_LABELS: dict[str, LazyProxy] = {
    StageKind.SEMI_FINAL.value: lazy_gettext("Semi-final"),
    StageKind.FINAL.value: lazy_gettext("Final"),
    InstitutionKind.SCHOOL.value: lazy_gettext("School"),
    InstitutionKind.COMPANY.value: lazy_gettext("Company"),
    ExpertRole.CHIEF_EXPERT.value: lazy_gettext("Chief Expert"),
    ExpertRole.EXPERT.value: lazy_gettext("Expert"),
}
"""How a stored choice (a stage's kind, an institution's kind, an expert's role) is shown."""


class FieldErrors(Invalid):
    """Values refused field by field; a form shows each message beside its field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()), problems=list(self.errors.values()))


@dataclass(frozen=True)
class Field:
    """One field of a record: its name, label on pages, header in the workbook and kind of value."""

    name: str
    label: LazyProxy
    kind: str = "text"
    """text, code, date, int, email, choice, or ref (the code of another record, chosen from a list)."""
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    max_length: int = 200

    @property
    def header(self) -> str:
        """The column's header in the event workbook, e.g. `Team size` for `team_size`."""
        return self.name.replace("_", " ").capitalize()

    @property
    def input_type(self) -> str:
        return {"date": "date", "int": "number", "email": "email"}.get(self.kind, "text")


def normalise_header(header: object) -> str:
    """`' Team Size '` → `team_size`: headers match without regard to case or surrounding spaces."""
    return re.sub(r"\s+", "_", str(header or "").strip().lower())


def cell_text(value: object) -> str:
    """A form value or workbook cell as text; whole numbers stay whole (a code typed as 23, not 23.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def parse_date(value: object) -> dt.date | None:
    """An ISO date string, an Excel date (datetime) or an Excel day number; raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        converted = from_excel(value)
        if isinstance(converted, dt.datetime):
            return converted.date()
        raise ValueError(value)
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return dt.datetime.fromisoformat(text).date()


def parse_value(field: Field, raw: object) -> Any:
    """The checked value of one field, or ValueError with the message to show beside it."""
    text = cell_text(raw)
    if text == "":
        if field.required:
            raise ValueError(_("Fill this in."))
        return field.default
    if len(text) > field.max_length:
        raise ValueError(_("At most %(count)s characters.", count=field.max_length))
    if field.kind == "code":
        if len(text) > MAX_CODE or not CODE_PATTERN.match(text):
            raise ValueError(
                _("'%(value)s' is not a code: use at most 32 letters, digits, '.', '-' or '_'.", value=text)
            )
        return text
    if field.kind == "date":
        try:
            return parse_date(raw if not isinstance(raw, str) else text)
        except (ValueError, OverflowError, TypeError):
            raise ValueError(_("'%(value)s' is not a date: use YYYY-MM-DD.", value=text)) from None
    if field.kind == "int":
        try:
            number = int(float(text)) if re.fullmatch(r"-?\d+(\.0+)?", text) else int(text)
        except ValueError:
            raise ValueError(_("'%(value)s' is not a whole number.", value=text)) from None
        if field.minimum is not None and number < field.minimum:
            raise ValueError(_("Use %(minimum)s or more.", minimum=field.minimum))
        return number
    if field.kind == "email":
        email = text.lower()
        if not EMAIL_PATTERN.match(email):
            raise ValueError(_("'%(value)s' is not an email address.", value=text))
        return email
    if field.kind == "choice" and text not in field.choices:
        raise ValueError(
            _("'%(value)s' is not one of: %(choices)s.", value=text, choices=", ".join(field.choices))
        )
    return text


def parse_record(
    fields: tuple[Field, ...], raw: Mapping[str, object]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values by field name, and messages by field name for the values that could not be read."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        try:
            values[field.name] = parse_value(field, raw.get(field.name))
        except ValueError as error:
            errors[field.name] = str(error)
    return values, errors


def ends_before_start(starts: dt.date | None, ends: dt.date | None) -> bool:
    return starts is not None and ends is not None and ends < starts


# --- the records ---------------------------------------------------------------------------------

CODE = Field("code", lazy_gettext("Code"), "code")
NAME = Field("name", lazy_gettext("Name"))
STARTS = Field("starts", lazy_gettext("Starts"), "date", required=False)
ENDS = Field("ends", lazy_gettext("Ends"), "date", required=False)
VENUE = Field("venue", lazy_gettext("Venue"), required=False, default="", max_length=300)
FIRST_NAME = Field("first_name", lazy_gettext("First name"), max_length=100)
LAST_NAME = Field("last_name", lazy_gettext("Last name"), max_length=100)
INSTITUTION = Field("institution", lazy_gettext("Institution"), "ref")
SKILL = Field("skill", lazy_gettext("Skill"), "ref")


@dataclass(frozen=True)
class EventData:
    code: str
    name: str
    starts: dt.date | None = None
    ends: dt.date | None = None
    venue: str = ""


@dataclass(frozen=True)
class StageData:
    code: str
    name: str
    kind: str = StageKind.FINAL.value
    starts: dt.date | None = None
    ends: dt.date | None = None
    venue: str = ""


@dataclass(frozen=True)
class SectorData:
    name: str


@dataclass(frozen=True)
class SkillData:
    code: str
    name: str
    sector: str = ""
    """The sector's name; empty for none."""
    team_size: int = 1
    advance: int = 0


@dataclass(frozen=True)
class InstitutionData:
    code: str
    name: str
    kind: str = InstitutionKind.SCHOOL.value


@dataclass(frozen=True)
class CompetitorData:
    code: str
    first_name: str
    last_name: str
    institution: str
    skill: str
    stage: str
    birth_date: dt.date | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class ExpertData:
    code: str
    first_name: str
    last_name: str
    email: str
    institution: str
    skill: str
    role: str = ExpertRole.EXPERT.value

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


EVENT_FIELDS = (CODE, NAME, STARTS, ENDS, VENUE)
STAGE_FIELDS = (
    CODE,
    NAME,
    Field("kind", lazy_gettext("Kind"), "choice", choices=tuple(k.value for k in StageKind)),
    STARTS,
    ENDS,
    VENUE,
)
SECTOR_FIELDS = (NAME,)
SKILL_FIELDS = (
    CODE,
    NAME,
    Field("sector", lazy_gettext("Sector"), "ref", required=False, default=""),
    Field("team_size", lazy_gettext("Team size"), "int", required=False, default=1, minimum=1),
    Field("advance", lazy_gettext("Advance to the final"), "int", required=False, default=0, minimum=0),
)
INSTITUTION_FIELDS = (
    CODE,
    Field("name", lazy_gettext("Name"), max_length=300),
    Field(
        "kind",
        lazy_gettext("Kind"),
        "choice",
        required=False,
        default=InstitutionKind.SCHOOL.value,
        choices=tuple(k.value for k in InstitutionKind),
    ),
)
COMPETITOR_FIELDS = (
    CODE,
    FIRST_NAME,
    LAST_NAME,
    Field("birth_date", lazy_gettext("Birth date"), "date", required=False),
    INSTITUTION,
    SKILL,
    Field("stage", lazy_gettext("Stage"), "ref"),
)
EXPERT_FIELDS = (
    CODE,
    FIRST_NAME,
    LAST_NAME,
    Field("email", lazy_gettext("Email"), "email", max_length=254),
    INSTITUTION,
    SKILL,
    Field("role", lazy_gettext("Role"), "choice", choices=tuple(r.value for r in ExpertRole)),
)


def read_record(fields: tuple[Field, ...], data_type: type[T], raw: Mapping[str, object]) -> T:
    """The record's dataclass from form values, or FieldErrors naming each value that cannot be read."""
    values, errors = parse_record(fields, raw)
    if errors:
        raise FieldErrors(errors)
    return data_type(**values)
