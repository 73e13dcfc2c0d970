"""Machinery shared by the Trello, Asana and Jira connectors; each supplies only its mapping
and HTTP calls."""
