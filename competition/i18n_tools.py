"""Translation upkeep: extract each package's messages (Python and templates) and update its Latvian catalogue.

`python -m competition.i18n_tools update` (or `make translations`) adds new messages to every
`<package>/translations/lv.po` and drops removed ones; `missing` lists what has no Latvian text yet
(a test keeps that list empty); `fill PACKAGE FILE.json` sets Latvian texts from a {"English": "Latviski"} file.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from competition.config import PROJECT_ROOT
from competition.i18n import CATALOG_PACKAGES, catalog_path

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Catalogue headers carry no real dates, so that parallel branches merge cleanly."""
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "false"}


def sources(package: str) -> Iterator[tuple[str, Path]]:
    """(method, path) of every file whose messages belong to `package`'s catalogue."""
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield "python", path
    template_dirs = [PROJECT_ROOT / "templates" / package]
    if package == "competition":
        template_dirs.append(PROJECT_ROOT / "templates" / "components")
        for path in sorted((PROJECT_ROOT / "templates").glob("*.html")):
            yield "jinja2", path
    for directory in template_dirs:
        for path in sorted(directory.rglob("*.html")):
            yield "jinja2", path


def extract(package: str) -> Catalog:
    catalog = Catalog(project="Podium", locale=None, creation_date=FIXED_DATE, revision_date=FIXED_DATE)
    for method, path in sources(package):
        options = JINJA_OPTIONS if method == "jinja2" else {}
        for lineno, message, _comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            location = (str(path.relative_to(PROJECT_ROOT)), lineno)
            catalog.add(message, locations=[location], context=context)
    return catalog


def update(package: str, language: str = "lv") -> Path:
    path = catalog_path(package, language)
    template = extract(package)
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(project="Podium", locale=language, creation_date=FIXED_DATE, revision_date=FIXED_DATE)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.revision_date = FIXED_DATE
    catalog.fuzzy = False
    with path.open("wb") as po:
        write_po(po, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True)
    return path


def missing(package: str, language: str = "lv") -> list[str]:
    """Messages used in `package` that have no (non-fuzzy) translation in its catalogue."""
    path = catalog_path(package, language)
    translated: set[str] = set()
    if path.exists():
        with path.open("rb") as po:
            for message in read_po(po, locale=language):
                text = message.string if isinstance(message.string, str) else "".join(message.string or ())
                if message.id and text and not message.fuzzy:
                    translated.add(message.id if isinstance(message.id, str) else message.id[0])
    needed = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(package) if m.id}
    return sorted(needed - translated)


def fill(package: str, translations: dict[str, str], language: str = "lv") -> int:
    """Set the Latvian text of messages in `package`'s catalogue; returns how many were set."""
    path = update(package, language)
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    count = 0
    for message_id, text in translations.items():
        message = catalog.get(message_id)
        if message is not None and text:
            message.string = text
            message.flags.discard("fuzzy")
            count += 1
    with path.open("wb") as po:
        write_po(po, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True)
    return count


def main(argv: list[str]) -> int:
    if argv[:1] == ["fill"] and len(argv) == 3:
        import json

        with open(argv[2], encoding="utf-8") as source:
            print(fill(argv[1], json.load(source)), "messages translated")
        return 0
    if argv[:1] == ["update"]:
        for package in CATALOG_PACKAGES:
            print(update(package))
        return 0
    if argv[:1] == ["missing"]:
        gaps = {package: missing(package) for package in CATALOG_PACKAGES}
        for package, messages in gaps.items():
            for message in messages:
                print(f"{package}: {message!r}")
        return 1 if any(gaps.values()) else 0
    print("usage: python -m competition.i18n_tools update | missing | fill PACKAGE FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
