"""The dashboard's pages through the gateway app.

A package (unlike the folder above it) so that its test modules share the operator fakes and the
log-in steps by relative import under pytest's importlib import mode; its name is unique in the
repository, since it becomes the top-level module name.
"""
