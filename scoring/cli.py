"""Scoring's `podium` commands (schemes, marks, results), added to the command through an entry point."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add scoring's commands to `podium` (see `[project.entry-points."podium.commands"]`)."""
    for command in COMMANDS:
        cli.add_command(command)


COMMANDS: list[click.Command] = []
"""Each feature module appends its commands here (import-scheme, import-marks, results, export-results)."""

from scoring.results_cli import export_results_command, results_command  # noqa: E402 - COMMANDS first

COMMANDS.extend([results_command, export_results_command])

from scoring.scheme_cli import import_scheme_command  # noqa: E402

COMMANDS.append(import_scheme_command)

from scoring.marks_cli import import_marks_command  # noqa: E402

COMMANDS.append(import_marks_command)
