"""Every visible string has its Latvian text, and the two languages really differ on screen."""

import pytest

from competition import i18n
from competition.i18n import CATALOG_PACKAGES
from competition.i18n_tools import missing


@pytest.mark.parametrize("package", CATALOG_PACKAGES)
def test_every_message_has_a_latvian_translation(package: str) -> None:
    assert missing(package) == [], f"run `make translations` and translate these in {package}/translations/lv.po"


def test_latvian_is_the_default_and_english_is_the_source() -> None:
    token = i18n.current_language.set("lv")
    try:
        assert i18n.gettext("Log in") == "Pieteikties"
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Log in") == "Log in"
    finally:
        i18n.current_language.reset(token)


def test_browser_preference_is_used_when_nothing_was_chosen() -> None:
    assert i18n.pick_language([None, None], "en-GB,en;q=0.9") == "en"
    assert i18n.pick_language([None], "de-DE") == "lv"
    assert i18n.pick_language(["en", "lv"], "lv") == "en"


def test_scheme_problems_are_told_in_the_language_of_the_reader() -> None:
    from scoring.cis_xlsx import read_scheme

    with i18n.language("lv"):
        assert read_scheme(b"not a workbook").problems[0].message == "Fails nav xlsx darbgrāmata."
    with i18n.language("en"):
        assert read_scheme(b"not a workbook").problems[0].message == "The file is not an xlsx workbook."
