"""Latvian and English: Babel catalogues per package, the current language, and local date formats."""

from __future__ import annotations

import contextvars
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as babel_format_decimal
from babel.support import LazyProxy, NullTranslations, Translations

from competition.config import DEFAULT_LANGUAGE, LANGUAGES, PROJECT_ROOT

CATALOG_PACKAGES = ("competition", "scoring", "live")
"""Each package keeps its own Latvian catalogue at `<package>/translations/lv.po`."""
LANGUAGE_NAMES = {"lv": "Latviešu", "en": "English"}

current_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "podium_language", default=DEFAULT_LANGUAGE
)


def catalog_path(package: str, language: str = "lv") -> Path:
    return PROJECT_ROOT / package / "translations" / f"{language}.po"


@cache
def translations(language: str) -> NullTranslations:
    """All packages' catalogues for `language` merged into one (English is the source language)."""
    if language == "en":
        return NullTranslations()
    merged: NullTranslations | None = None
    for package in CATALOG_PACKAGES:
        path = catalog_path(package, language)
        if not path.exists():
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        loaded = Translations(buffer)
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)  # type: ignore[attr-defined]
    return merged or NullTranslations()


@contextmanager
def language(code: str) -> Iterator[None]:
    """Messages and formats in language `code` inside the block (commands, tests, rendering for a viewer)."""
    token = current_language.set(code)
    try:
        yield
    finally:
        current_language.reset(token)


def gettext(message: str, **values: Any) -> str:
    """`message` in the current language; `%(name)s` placeholders filled from `values`."""
    text = translations(current_language.get()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    values.setdefault("num", n)
    return text % values


_ = gettext


def lazy_gettext(message: str, **values: Any) -> LazyProxy:
    """A message translated when shown (for module-level labels)."""
    return LazyProxy(gettext, message, enable_cache=False, **values)


def pick_language(candidates: Iterable[str | None], accept_language: str = "") -> str:
    """The first supported language among `candidates`, then the browser's preference, then Latvian."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _locale() -> Locale:
    return Locale.parse({"lv": "lv_LV", "en": "en_GB"}.get(current_language.get(), "lv_LV"))


def format_date(value: dt.date | None, format: str = "medium") -> str:
    """A date in the current language's local format (e.g. '2023. gada 7. febr.' or '7 Feb 2023')."""
    if value is None:
        return ""
    return babel_format_date(value, format=format, locale=_locale())


def format_datetime(value: dt.datetime | None, format: str = "short") -> str:
    if value is None:
        return ""
    return babel_format_datetime(value, format=format, locale=_locale(), tzinfo=None)


def format_number(value: Decimal | int | None, places: int = 2) -> str:
    """A mark with `places` decimals in local style (e.g. '87,42' in Latvian)."""
    if value is None:
        return ""
    return _formatted(value, places, current_language.get())


@lru_cache(maxsize=8192)
def _formatted(value: Decimal | int, places: int, language: str) -> str:
    """Babel's formatting, kept: a form shows the same few marks many times, and each costs a tenth of a millisecond."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    locale = Locale.parse({"lv": "lv_LV", "en": "en_GB"}.get(language, "lv_LV"))
    return babel_format_decimal(value, format=pattern, locale=locale, decimal_quantization=True)
