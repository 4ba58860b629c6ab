"""Interfaces: the Python API (Collection), the CLI, the HTTP API and the web page."""
