"""Tenants, their users, and the API tokens that identify a caller."""
