"""Expert and organiser pages for marking schemes, marking and results, and the JSON API."""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []

from scoring import results_api  # noqa: E402 - the list above first

route_handlers.extend(results_api.route_handlers)

from scoring import results_pages  # noqa: E402

route_handlers.extend(results_pages.route_handlers)

from scoring import marks_api  # noqa: E402

route_handlers.extend(marks_api.route_handlers)

from scoring import marking_pages  # noqa: E402

route_handlers.extend(marking_pages.route_handlers)

from scoring import scheme_pages  # noqa: E402

route_handlers.extend(scheme_pages.route_handlers)
