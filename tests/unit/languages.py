"""A fixture for tests that read messages outside a request: English (the source language) instead of the
default Latvian. Import it into a test module and mark the module with `usefixtures("english")`."""

from __future__ import annotations

import contextvars

import pytest

from competition import i18n


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "current_language", contextvars.ContextVar("podium_language", default="en"))
