"""Provider connections: a person's account at Trello (Asana, Jira) that Tether syncs with."""
