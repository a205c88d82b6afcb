"""The live board: phone page, big screen, ceremony control and the WebSocket."""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []
