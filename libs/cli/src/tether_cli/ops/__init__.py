"""Operators' commands: status, links, resync, dead letters, conflicts and key rotation.

Each reads the services' own settings (their environment variables) and uses their own
repositories, so it sees what the services see.
"""
