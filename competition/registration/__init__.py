"""Registration: the organiser's pages and services for events, stages, skills, people; workbook import."""
