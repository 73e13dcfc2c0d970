"""The client-facing HTTP API of Tether"""
