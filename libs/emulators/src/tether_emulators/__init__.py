"""Emulators of the providers Tether syncs with, written from their public API documentation.

They exist so that Tether's own tests cannot quietly adapt the provider to the client: each
emulator follows the provider's documented behaviour (and /work/shared/PROVIDERS.md), including
the inconvenient parts such as rate limits, webhook verification and plain-text errors.
"""
