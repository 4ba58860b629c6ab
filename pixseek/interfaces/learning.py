"""CLI commands for the learned image->word mapping: `pixseek train` and `pixseek eval`."""

from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> dict:
    """Add subcommands to the `pixseek` parser; returns {command name: handler(args)}."""
    return {}
