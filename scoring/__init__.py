"""Scoring: WorldSkills marking schemes, marks, sign-off and results."""
