"""Errors a user can cause, each with a message that says what and where; pages, API and commands map them."""

from __future__ import annotations


class PodiumError(Exception):
    """A refusal with a message for the person who caused it; nothing was changed."""

    status_code = 400

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        return self.message


class NotFound(PodiumError):
    """An unknown event, skill, stage, competitor, aspect or record."""

    status_code = 404


class Forbidden(PodiumError):
    """Not allowed: not on this skill's team, or a competitor of the expert's own institution."""

    status_code = 403


class Conflict(PodiumError):
    """The thing is in a state that refuses the change (e.g. a locked form, a scheme that already has marks)."""

    status_code = 409


class Invalid(PodiumError):
    """An invalid value or file; the message (and `problems`) say which and why."""

    status_code = 422


class Unavailable(PodiumError):
    """The server cannot take the request now (busy, overloaded): come back in a moment; nothing was changed."""

    status_code = 503
    retry_after_s = 2
