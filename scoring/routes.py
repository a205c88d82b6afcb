"""Expert and organiser pages for marking schemes, marking and results, and the JSON API."""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []
